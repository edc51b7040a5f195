import EnvrunCore
import EnvrunJudge
import EnvrunRewards
import EnvrunTasks
import EnvrunTesting
import Foundation
import HummingbirdTesting
import Logging
import Testing

@testable import EnvrunServer

/// `POST /v1/score` on a `generative_rm` pack and a hybrid pack: through the server, the pack loader, the
/// router and the real judge client, to the scripted judge (fault cases) and to the real local judge.
@Suite("serve with a judge", .serialized)
struct JudgeServeTests {
    static func writePacks(into dir: URL) throws {
        func pack(_ name: String, reward: String, tasks: [TaskSpec]) throws {
            let folder = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try """
                name: \(name)
                version: 1.0.0
                description: judged in tests
                license: CC0-1.0
                source: written for this test
                tasks: tasks.jsonl
                reward:
                \(reward)
                """.write(to: folder.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
            let lines = try tasks.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            try lines.joined(separator: "\n").write(to: folder.appendingPathComponent("tasks.jsonl"), atomically: true, encoding: .utf8)
        }
        try pack("open", reward: "  verifier: generative_rm\n  judge: {name: default, samples: 2, seed: 5}", tasks: [
            TaskSpec(id: "q1", prompt: "How do I boil an egg?"),
        ])
        try pack("mixed", reward: "  verifier: hybrid\n  judge: {name: default}\n  escalate: {when: always}", tasks: [
            TaskSpec(id: "sum", prompt: "What is 2+3?", answer: "5"),
            TaskSpec(id: "tip", prompt: "Give one study tip."),
        ])
    }

    static func withServer(
        judge: JudgeEndpoint, _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-judge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writePacks(into: dir)
        let metrics = ServerMetrics()
        var deps = RewardDependencies()
        deps.judges = try JudgePool(endpoints: [judge], metrics: JudgeMetrics(factory: metrics.metricsFactory))
        let env = PackEnvironment(packs: try PackLibrary.load(directory: dir), dependencies: deps)
        let app = buildApplication(
            configuration: try ServerConfiguration().validated(), environment: env, executor: FakeExecutor(),
            logger: Logger(label: "judge.test"), metrics: metrics)
        try await app.test(.router, body)
    }

    static let items = [
        ScoreItem(pack: "open", taskID: "q1", response: "Put it in boiling water for 9 minutes, then in cold water. good"),
        ScoreItem(pack: "open", taskID: "q1", response: "Eggs are round."),
        ScoreItem(pack: "mixed", taskID: "sum", response: "2+3 = \\boxed{5}"),
        ScoreItem(pack: "mixed", taskID: "tip", response: "Sleep well before the exam. good"),
    ]

    @Test("scripted judge: rewards, routes, the judge's text kept, metrics by source and judge")
    func scripted() async throws {
        let fair: ScriptedJudgeServer.Script = { _, seen in
            .text(ScriptedJudgeServer.verdict(seen.responses.map { $0.contains("good") ? 10 : 4 }))
        }
        try await ScriptedJudgeServer.with(fair) { judge in
            try await Self.withServer(judge: JudgeEndpoint(baseURL: judge.baseURL, model: "scripted")) { client in
                let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: Self.items))
                #expect(response.status == .ok)
                let results = try response.decoded(ScoreResponse.self).results
                #expect(results.map(\.status) == [.ok, .ok, .ok, .ok], "\(results.map(\.details))")
                #expect(results.map(\.reward) == [1, 1.0 / 3, 1, 1])
                #expect(results.map { $0.details["route"] } == ["generative_rm", "generative_rm", "rule", "generative_rm"])
                #expect(results[0].details["voters"] == "2" && results[0].details["judge"] == "default:scripted")
                // Two samples of each open response (one response per judge prompt) and one of the tip.
                #expect(judge.requests.count == 5)
                let metrics = try await client.send(.get, "/metrics").text
                #expect(metrics.contains(#"envrun_judge_calls_total{judge="default",outcome="ok"} 5"#), "\(metrics)")
                #expect(metrics.contains(#"envrun_rewards_total{pack="open",status="ok",source="generative_rm"} 2"#))
                #expect(metrics.contains(#"envrun_rewards_total{pack="mixed",status="ok",source="rule"} 1"#))
                // The same batch again is served from the cache: no new judge call.
                _ = try await client.send(.post, "/v1/score", value: ScoreRequest(items: Self.items))
                #expect(judge.requests.count == 5)
                #expect(try await client.send(.get, "/metrics").text.contains(#"envrun_judge_cache_total{result="hit"} 3"#))
            }
        }
    }

    /// The time limit is a hang bound, not a speed claim: with async-http-client's default pool a refused
    /// connect is retried until its connect timeout (10 s), so eight scorings would take 80 s and hit it.
    @Test("a refused connect is an error at once, not after the connect timeout", .timeLimit(.minutes(1)))
    func refusedConnectFailsAtOnce() async throws {
        var endpoint = JudgeEndpoint(baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "gone")
        endpoint.timeoutSeconds = 300
        endpoint.retries = 0
        endpoint.breakerThreshold = 1000  // no breaker: every scoring connects
        let model = GenerativeRewardModel(client: OpenAIChatClient(endpoint: endpoint), template: try JudgeTemplate.load(), cache: nil)
        for _ in 0..<8 {
            let r = await model.score(query: "q", responses: ["a"])
            #expect(r.status == .error && r.samples[0].error?.contains("refused") == true, "\(r.samples.map(\.error))")
        }
    }

    @Test("a dead judge: status error fast (the breaker), the server keeps serving rule rewards", .timeLimit(.minutes(1)))
    func deadJudge() async throws {
        // A port nothing listens on: connection refused.
        var endpoint = JudgeEndpoint(baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "gone")
        endpoint.retries = 0
        endpoint.breakerThreshold = 1
        endpoint.breakerCooldownSeconds = 600
        try await Self.withServer(judge: endpoint) { client in
            for round in 0..<2 {
                let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: Self.items))
                #expect(response.status == .ok)
                let results = try response.decoded(ScoreResponse.self).results
                #expect(results.map(\.status) == [.error, .error, .ok, .error])
                #expect(results[2].reward == 1)
                #expect(results[0].details["error_code"] == "judge", "\(results[0].details)")
                // Refused at once, then the open breaker: never the request timeout (async-http-client's
                // default retries a refused connect until the deadline — 60 s here).
                let error = results[0].details["error"] ?? ""
                #expect(error.contains("refused") || error.contains("in a row"), "\(error)")
                if round == 1 { #expect(error.contains("in a row"), "\(error)") }
                #expect(!error.contains("timed out") && !error.contains("timeout"), "\(error)")
            }
            let metrics = try await client.send(.get, "/metrics").text
            #expect(metrics.contains(#"envrun_judge_calls_total{judge="default",outcome="breaker_open"}"#), "\(metrics)")
        }
    }

    @Test("the real local judge (SmolLM2-135M on llama.cpp) scores a generative_rm pack end to end",
          .timeLimit(.minutes(6)))
    func realJudge() async throws {
        if let reason = LlamaJudgeServer.availability() {
            print("JudgeServeTests.realJudge skipped: \(reason)")
            return
        }
        try await FDGate.exclusive {
            let server = try await LlamaJudgeServer.start()
            defer { server.stop() }
            var endpoint = JudgeEndpoint(baseURL: server.baseURL, model: server.modelName)
            endpoint.constraintField = .grammar
            endpoint.timeoutSeconds = 240
            try await Self.withServer(judge: endpoint) { client in
                let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: Array(Self.items.prefix(2))))
                #expect(response.status == .ok)
                let results = try response.decoded(ScoreResponse.self).results
                // A 135M judge is weak: the claim is the path (format kept by the grammar, parsed, voted), not quality.
                for r in results {
                    #expect(r.status == .ok, "\(r.details)")
                    #expect(r.source == .generativeRM && (0...1).contains(r.reward))
                    #expect(r.details["samples"]?.contains("boxed") == true)
                }
                print("real judge rewards: \(results.map(\.reward)), means \(results.map { $0.components["grm_mean"] ?? -1 })")
            }
        }
    }

    /// Any judge you point it at: runs when ENVRUN_JUDGE_URL and ENVRUN_JUDGE_MODEL are set (optional:
    /// ENVRUN_JUDGE_API_KEY_ENV names the variable holding the key, ENVRUN_JUDGE_CONSTRAINT the constraint field).
    @Test("live: the judge at $ENVRUN_JUDGE_URL scores a pack end to end", .timeLimit(.minutes(10)))
    func liveJudge() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["ENVRUN_JUDGE_URL"].flatMap(URL.init(string:)), let model = env["ENVRUN_JUDGE_MODEL"] else {
            print("JudgeServeTests.liveJudge skipped: set ENVRUN_JUDGE_URL and ENVRUN_JUDGE_MODEL to run it against a judge")
            return
        }
        var endpoint = JudgeEndpoint(baseURL: url, model: model)
        endpoint.apiKeyEnv = env["ENVRUN_JUDGE_API_KEY_ENV"]
        endpoint.timeoutSeconds = 300
        if let c = env["ENVRUN_JUDGE_CONSTRAINT"] { endpoint.constraintField = try #require(JudgeEndpoint.ConstraintField(rawValue: c)) }
        try await Self.withServer(judge: endpoint) { client in
            let response = try await client.send(.post, "/v1/score", value: ScoreRequest(items: Self.items))
            #expect(response.status == .ok)
            let results = try response.decoded(ScoreResponse.self).results
            #expect(results[2].status == .ok && results[2].details["route"] == "rule")
            for r in [results[0], results[1], results[3]] {
                #expect(r.status == .ok && r.source == .generativeRM && (0...1).contains(r.reward), "\(r.details)")
            }
            print("live judge \(model): rewards \(results.map(\.reward))")
        }
    }
}
