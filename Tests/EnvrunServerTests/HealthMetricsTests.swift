import EnvrunServer
import HummingbirdTesting
import Testing

@Suite("health, ping and metrics")
struct HealthMetricsTests {
    @Test("healthz reports ok and the packs")
    func health() async throws {
        try await withApp { client in
            let health = try await client.send(.get, "/healthz").decoded(HealthResponse.self)
            #expect(health.status == "ok")
            #expect(health.packs == ["fake-math", "fake-code"])
        }
    }

    @Test("SandboxFusion's ping answers the JSON string pong")
    func ping() async throws {
        try await withApp { client in
            let response = try await client.send(.get, "/v1/ping")
            #expect(response.status == .ok)
            #expect(response.text == #""pong""#)
        }
    }

    @Test("metrics count requests by route and status, rewards, verdicts and pool use")
    func metrics() async throws {
        try await withApp { client in
            _ = try await client.send(.post, "/v1/score",
                                      json: #"{"items":[{"pack":"fake-code","task_id":"0","response":"raise X"}]}"#)
            _ = try await client.send(.post, "/v1/score", json: "{")
            _ = try await client.send(.post, "/run_code", json: #"{"code":"while True: pass","language":"python"}"#)
            _ = try await client.send(.get, "/v1/episodes/ep-1/step")
            let response = try await client.send(.get, "/metrics")
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.text
            #expect(text.contains(#"envrun_http_requests_total{route="/v1/score",method="POST",status="200"} 1"#))
            #expect(text.contains(#"envrun_http_requests_total{route="/v1/score",method="POST",status="400"} 1"#))
            #expect(text.contains(#"envrun_http_requests_total{route="NotFound",method="GET",status="404"} 1"#))
            #expect(text.contains(#"envrun_rewards_total{pack="fake-code",status="ok",source="none"} 1"#))
            #expect(text.contains(#"envrun_verdicts_total{verdict="runtime_error"} 1"#))
            #expect(text.contains(#"envrun_verdicts_total{verdict="time_limit"} 1"#))
            #expect(text.contains("envrun_http_request_duration_seconds_bucket"))
            #expect(text.contains("envrun_work_slots 8.0"))
            #expect(text.contains("envrun_work_queue_depth 0.0"))
            #expect(text.contains("envrun_work_in_flight 0.0"))
        }
    }
}
