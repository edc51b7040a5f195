import HTTPTypes
import Hummingbird

/// Optional bearer-token auth. `/healthz` and `/v1/ping` stay open so load balancers can probe. The token
/// may also come as `X-API-Key` (the `openreward` client's header; it never sends `Authorization`).
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    static var openPaths: Set<String> { ["/healthz", "/v1/ping"] }
    static var apiKey: HTTPField.Name { HTTPField.Name("X-API-Key")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        if let key = request.headers[Self.apiKey], !key.isEmpty {
            guard Self.constantTimeEqual(key, token) else {
                throw APIError(.unauthorized, code: "unauthorized", "wrong API key", field: "X-API-Key")
            }
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, code: "unauthorized", "missing bearer token",
                           field: "Authorization", headers: [.wwwAuthenticate: "Bearer"])
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.constantTimeEqual(String(header.dropFirst(prefix.count)), token) else {
            throw APIError(.unauthorized, code: "unauthorized", "wrong bearer token",
                           field: "Authorization", headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        return try await next(request, context)
    }

    /// Compares without an early exit so timing does not leak how much of the token matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
