import EnvrunCore
import EnvrunServer
import EnvrunTesting
import Foundation
import HummingbirdTesting
import Testing

@Suite("POST /v1/score")
struct ScoreRouteTests {
    @Test("a mixed batch is scored in order; an unknown task or pack only fails its own item")
    func mixedBatch() async throws {
        try await withApp { client in
            let items = [
                ScoreItem(pack: "fake-math", taskID: "3", response: "the answer is 9"),
                ScoreItem(pack: "fake-math", taskID: "4", response: "the answer is 15"),
                ScoreItem(pack: "fake-math", taskID: "404", response: "1"),
                ScoreItem(pack: "nope", taskID: "1", response: "1"),
                ScoreItem(pack: "fake-code", taskID: "0", response: "print(\"0\")"),
                ScoreItem(pack: "fake-code", taskID: "0", response: "while True: pass"),
                ScoreItem(pack: "fake-math", task: TaskSpec(id: "x", prompt: "2+2?", answer: "4"), response: "4"),
            ]
            let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: items))
            #expect(response.status == .ok)
            let results = try response.decoded(ScoreResponse.self).results
            #expect(results.map(\.reward) == [1, 0, 0, 0, 1, 0, 1])
            #expect(results.map(\.status) == [.ok, .ok, .error, .error, .ok, .ok, .ok])
            #expect(results[2].details["error_code"] == "not_found")
            #expect(results[2].details["field"] == "task_id")
            #expect(results[2].details["error"]?.contains("404") == true)
            #expect(results[3].details["field"] == "pack")
            #expect(results[5].details["verdict"] == "time_limit")
        }
    }

    @Test("the wire format is snake_case")
    func snakeCase() async throws {
        try await withApp { client in
            let body = #"{"items":[{"pack":"fake-math","task_id":"2","response":"4"}]}"#
            let response = try await client.send(.post, "/v1/score", json: body)
            #expect(response.status == .ok)
            #expect(response.text.contains(#""results":[{"#))
            #expect(response.text.contains(#""reward":1"#))
        }
    }

    @Test("more items than max_batch_items is a 400 naming items")
    func tooManyItems() async throws {
        try await withApp({ $0.maxBatchItems = 2 }) { client in
            let items = Array(repeating: ScoreItem(pack: "fake-math", taskID: "1", response: "1"), count: 3)
            let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: items))
            #expect(response.status == .badRequest)
            #expect(response.errorDetail?.field == "items")
        }
    }

    @Test("a body over max_body_bytes is a 413 naming body")
    func oversized() async throws {
        try await withApp({ $0.maxBodyBytes = 1024 }) { client in
            let long = String(repeating: "x", count: 4096)
            let items = [ScoreItem(pack: "fake-math", taskID: "1", response: long)]
            let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: items))
            #expect(response.status == .contentTooLarge)
            #expect(response.errorDetail?.code == "payload_too_large")
            #expect(response.errorDetail?.field == "body")
        }
    }
}

/// A fake environment that scores batches in one call, to check the server uses that path.
final class BatchingFake: EnvrunCore.Environment, BatchScoring {
    let inner = FakeEnvironment()
    let batches = Counter()
    func packs() -> [PackInfo] { inner.packs() }
    func tasks(pack: String, offset: Int, limit: Int) throws -> [TaskSpec] { try inner.tasks(pack: pack, offset: offset, limit: limit) }
    func score(_ item: ScoreItem) async throws -> RewardResult { try await inner.score(item) }
    func reset(pack: String, taskID: String) async throws -> StepResult { try await inner.reset(pack: pack, taskID: taskID) }
    func step(episodeID: String, action: String) async throws -> StepResult { try await inner.step(episodeID: episodeID, action: action) }
    func score(batch items: [ScoreItem]) async -> [Result<RewardResult, EnvrunError>] {
        await batches.increment()
        var out: [Result<RewardResult, EnvrunError>] = []
        for item in items {
            do { out.append(.success(try await inner.score(item))) } catch let e as EnvrunError { out.append(.failure(e)) } catch {
                out.append(.failure(EnvrunError(.internal, "\(error)")))
            }
        }
        return out
    }
    actor Counter {
        var value = 0
        func increment() { value += 1 }
    }
}

@Suite("POST /v1/score with a batch-scoring environment")
struct BatchScoringRouteTests {
    @Test("the whole batch goes to the environment in one call; per-item errors still stay per item")
    func oneCall() async throws {
        let environment = BatchingFake()
        try await withApp(environment: environment) { client in
            let items = [
                ScoreItem(pack: "fake-math", taskID: "3", response: "9"),
                ScoreItem(pack: "fake-math", taskID: "nope", response: "9"),
                ScoreItem(pack: "fake-math", taskID: "2", response: "5"),
            ]
            let results = try await client.send(.post, "/v1/score", value: ScoreRequest(items: items))
                .decoded(ScoreResponse.self).results
            #expect(results.map(\.status) == [.ok, .error, .ok])
            #expect(results.map(\.reward) == [1, 0, 0])
            #expect(results[1].details["field"] == "task_id")
        }
        #expect(await environment.batches.value == 1)
    }
}
