import EnvrunCore
import EnvrunServer
import EnvrunTesting
import HummingbirdTesting
import Testing

@Suite("back-pressure")
struct SaturationTests {
    @Test("when every slot and queue place is taken the server answers 429 with Retry-After at once")
    func saturated() async throws {
        let gate = ScoreGate()
        let environment = FakeEnvironment(gate: gate)
        try await withApp({ $0.maxConcurrency = 1; $0.maxQueue = 0; $0.retryAfterSeconds = 2 },
                          environment: environment) { client in
            let body = #"{"items":[{"pack":"fake-math","task_id":"2","response":"4"}]}"#
            async let first = client.send(.post, "/v1/score", json: body)
            await gate.waitForEntered(1)  // the only slot is now busy
            let second = try await client.send(.post, "/v1/score", json: body)
            #expect(second.status == .tooManyRequests)
            #expect(second.headers[.retryAfter] == "2")
            #expect(second.errorDetail?.code == "saturated")
            // SandboxFusion's /run_code says the same with 504: the only status verl's client retries.
            let runCode = try await client.send(.post, "/run_code", json: #"{"code":"print(1)","language":"python"}"#)
            #expect(runCode.status == .gatewayTimeout)
            #expect(runCode.headers[.retryAfter] == "2")
            // Read-only routes do not take a slot.
            let health = try await client.send(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(health.text.contains(#""in_flight":1"#))
            await gate.open()
            let firstResponse = try await first
            #expect(firstResponse.status == .ok)
            let metrics = try await client.send(.get, "/metrics").text
            #expect(metrics.contains(#"envrun_rejected_total{route="/v1/score"} 1"#))
            #expect(metrics.contains(#"envrun_rejected_total{route="/run_code"} 1"#))
        }
    }

    @Test("a request waits in the queue for a free slot instead of failing")
    func queued() async throws {
        let gate = ScoreGate()
        let environment = FakeEnvironment(gate: gate)
        try await withApp({ $0.maxConcurrency = 1; $0.maxQueue = 1 }, environment: environment) { client in
            let body = #"{"items":[{"pack":"fake-math","task_id":"2","response":"4"}]}"#
            async let first = client.send(.post, "/v1/score", json: body)
            await gate.waitForEntered(1)
            async let second = client.send(.post, "/v1/score", json: body)
            #expect(try await eventually { try await client.send(.get, "/healthz").text.contains(#""queued":1"#) })
            await gate.open()
            let (a, b) = try await (first, second)
            #expect(a.status == .ok)
            #expect(b.status == .ok)
        }
    }
}

/// Polls a condition a bounded number of times (for states only observable from outside, like a queue).
func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<500 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return false
}
