import EnvrunServer
import Foundation
import HummingbirdTesting
import Testing

@Suite("OpenRLHF POST /get_reward")
struct OpenRLHFTests {
    @Test("labels may be pack/task references, JSON objects, or bare gold answers; the prompt is stripped")
    func labels() async throws {
        try await withApp { client in
            let json = """
                {"query": ["Q: 3*3? A: 9", "Q: 4*4? A: 15", "Q: 2+2? A: 4", "Q: 5*5? A: 25", "Q: ? A: 1", "Q: ? A: 7"],
                 "prompts": ["Q: 3*3? A:", "Q: 4*4? A:", "Q: 2+2? A:", "Q: 5*5? A:", "Q: ? A:", "Q: ? A:"],
                 "labels": ["fake-math/3", "fake-math/4", "4", {"pack": "fake-math", "task_id": "5"},
                            "fake-math/404", 7]}
                """
            let response = try await client.send(.post, "/get_reward", json: json)
            #expect(response.status == .ok)
            let body = try response.decoded(GetRewardResponse.self)
            #expect(body.rewards == [1, 0, 1, 1, 0, 1])
            #expect(body.scores == body.rewards)
            #expect(body.extraLogs["envrun_error"] == [0, 0, 0, 0, 1, 0])
            #expect(body.extraLogs["envrun_ok"] == [1, 1, 1, 1, 0, 1])
            #expect(response.text.contains(#""extra_logs":{"#))
        }
    }

    @Test("older OpenRLHF sends only query: scored by the unlabeled pack")
    func queryOnly() async throws {
        try await withApp { client in
            let response = try await client.send(.post, "/get_reward", json: #"{"query": ["no numbers here"]}"#)
            #expect(response.status == .ok)
            let body = try response.decoded(GetRewardResponse.self)
            #expect(body.rewards.count == 1)
        }
    }

    @Test("a JSON label inside a string works like an object")
    func jsonString() async throws {
        try await withApp { client in
            let json = #"{"query": ["16"], "labels": ["{\"pack\": \"fake-math\", \"task_id\": \"4\"}"]}"#
            let body = try await client.send(.post, "/get_reward", json: json).decoded(GetRewardResponse.self)
            #expect(body.rewards == [1])
        }
    }
}
