import EnvrunServer
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("bearer token")
struct AuthTests {
    @Test("work routes need the token; healthz and ping stay open")
    func token() async throws {
        try await withApp({ $0.token = "s3cret" }) { client in
            let body = #"{"items":[{"pack":"fake-math","task_id":"2","response":"4"}]}"#
            let missing = try await client.send(.post, "/v1/score", json: body)
            #expect(missing.status == .unauthorized)
            #expect(missing.errorDetail?.field == "Authorization")
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)

            let wrong = try await client.send(.post, "/v1/score", json: body, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorDetail?.message == "wrong bearer token")

            let basic = try await client.send(.post, "/v1/score", json: body, headers: [.authorization: "Basic s3cret"])
            #expect(basic.status == .unauthorized)

            let right = try await client.send(.post, "/v1/score", json: body, headers: [.authorization: "Bearer s3cret"])
            #expect(right.status == .ok)

            #expect(try await client.send(.get, "/healthz").status == .ok)
            #expect(try await client.send(.get, "/v1/ping").status == .ok)
            #expect(try await client.send(.get, "/metrics").status == .unauthorized)
        }
    }
}
