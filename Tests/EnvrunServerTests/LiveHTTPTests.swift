import EnvrunCore
import EnvrunServer
import EnvrunTesting
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The same app over a real loopback socket (HummingbirdTesting's `.live`), for what only a real
/// connection shows: the body limit on a streamed body, and keep-alive after an error.
@Suite("live HTTP")
struct LiveHTTPTests {
    @Test("an oversized body gets 413 over a real connection, and the next request still works")
    func oversizedThenOK() async throws {
        var config = ServerConfiguration()
        config.maxBodyBytes = 2048
        config.port = 0
        let app = buildApplication(configuration: try config.validated(), environment: FakeEnvironment(),
                                   executor: FakeExecutor(), logger: Logger(label: "live.test"))
        try await FDGate.exclusive { try await app.test(.live) { client in
            let big = #"{"items":[{"pack":"fake-math","task_id":"1","response":""# + String(repeating: "9", count: 100_000) + #""}]}"#
            let tooLarge = try await client.send(.post, "/v1/score", json: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorDetail?.field == "body")
            let ok = try await client.send(.post, "/v1/score",
                                           json: #"{"items":[{"pack":"fake-math","task_id":"3","response":"9"}]}"#)
            #expect(ok.status == .ok)
            #expect(try ok.decoded(ScoreResponse.self).results.first?.reward == 1)
        } }
    }
}
