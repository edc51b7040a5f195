import EnvrunCore
import Hummingbird
import Logging

/// What the controllers share: the environment, the executor, the limits and the metrics.
/// A plain Sendable value built once by `buildApplication`.
struct AppServices: Sendable {
    let configuration: ServerConfiguration
    let environment: any EnvrunCore.Environment
    let executor: any CodeExecutor
    let limiter: WorkLimiter
    let metrics: ServerMetrics
    let scorer: BatchScorer
    let logger: Logger

    /// Runs work in a limiter slot, or throws 429 with Retry-After when the server is saturated.
    func withWorkSlot<T: Sendable>(route: String, _ body: () async throws -> T) async throws -> T {
        guard let value = try await limiter.run(body) else {
            metrics.recordRejected(route: route)
            throw APIError.saturated(retryAfterSeconds: configuration.retryAfterSeconds)
        }
        return value
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try await JSONIO.decode(type, from: request, limit: configuration.maxBodyBytes)
    }

    /// Environment errors at the edge: fills in the field when the environment left it out.
    func mapped(_ error: EnvrunError, defaultField: String) -> APIError {
        var api = APIError(error)
        if api.field == nil { api.field = defaultField }
        return api
    }
}
