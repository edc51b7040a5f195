import EnvrunCore
import EnvrunServer
import HummingbirdTesting
import Testing

@Suite("episodes")
struct EpisodeRouteTests {
    @Test("reset returns the prompt; steps report per-turn rewards until done")
    func lifecycle() async throws {
        try await withApp { client in
            let reset = try await client.send(.post, "/v1/episodes", value: ResetRequest(pack: "fake-code", taskID: "1"))
            #expect(reset.status == .created)
            let start = try reset.decoded(StepResult.self)
            #expect(start.observation == "Write f() returning 1.")
            #expect(start.done == false)

            let failing = try await client.send(.post, "/v1/episodes/\(start.episodeID)/step",
                                                value: StepRequest(action: "raise ValueError"))
            #expect(failing.status == .ok)
            let one = try failing.decoded(StepResult.self)
            #expect(one.turn == 1)
            #expect(one.done == false)
            #expect(one.observation.contains("runtime_error"))

            let passing = try await client.send(.post, "/v1/episodes/\(start.episodeID)/step",
                                                value: StepRequest(action: "print(\"1\")"))
            let two = try passing.decoded(StepResult.self)
            #expect(two.done)
            #expect(two.turnRewards == [0, 1])
            #expect(two.reward?.reward == 1)
        }
    }

    @Test("a step on a finished episode is a 400 naming episode_id")
    func finished() async throws {
        try await withApp { client in
            let start = try await client.send(.post, "/v1/episodes", value: ResetRequest(pack: "fake-math", taskID: "2"))
                .decoded(StepResult.self)
            for _ in 0..<3 {
                _ = try await client.send(.post, "/v1/episodes/\(start.episodeID)/step", value: StepRequest(action: "5"))
            }
            let extra = try await client.send(.post, "/v1/episodes/\(start.episodeID)/step", value: StepRequest(action: "4"))
            #expect(extra.status == .badRequest)
            #expect(extra.errorDetail?.field == "episode_id")
        }
    }
}
