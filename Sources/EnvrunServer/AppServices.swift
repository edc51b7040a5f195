import EnvrunCore
import Hummingbird
import Logging
import NIOCore

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
    /// The threads that decode bodies and score; the cooperative pool keeps `/healthz` and 429s.
    let cpu: CPUPool
    let bodies: BodyBudget
    /// Sessions of the stateful protocols (OpenEnv WebSockets, ORS), bounded by `max_sessions`.
    let sessions: SessionSlots
    /// Open Reward Standard sessions (reaped on a timer by `SessionReaper`).
    let orsSessions: ORSSessionStore

    /// The path of every route that does work:
    /// 1. the body is read within the byte budget (413 past the body limit, 429 past the budget), on
    ///    the cooperative pool; a server already at its limit answers 429 here, before any decoding;
    /// 2. on the CPU pool, in a task cancelled if the client goes away: `parse` decodes and checks the
    ///    body without holding a work slot (a malformed request never waits behind sandbox jobs), then
    ///    a work slot is taken (429 with Retry-After when every slot and queue place is taken) and
    ///    `work` runs in it.
    func run<P: Sendable, T: Sendable>(
        _ request: Request, _ context: EnvrunRequestContext, route: String,
        parse: @escaping @Sendable (ByteBuffer) throws -> P,
        _ work: @escaping @Sendable (P) async throws -> T
    ) async throws -> T {
        try await withBody(request, route: route) { buffer in
            if limiter.isFull {
                metrics.recordRejected(route: route)
                throw APIError.saturated(retryAfterSeconds: configuration.retryAfterSeconds)
            }
            return try await onCPU(context) {
                let parsed = try parse(buffer)
                return try await withWorkSlot(route: route) { try await work(parsed) }
            }
        }
    }

    /// Work that comes without an HTTP request of its own (a WebSocket message): on the CPU pool, in a work
    /// slot, with the same 429 as `run` when the server is saturated.
    func work<T: Sendable>(route: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        if limiter.isFull {
            metrics.recordRejected(route: route)
            throw APIError.saturated(retryAfterSeconds: configuration.retryAfterSeconds)
        }
        let task = Task(executorPreference: cpu) { try await withWorkSlot(route: route) { try await body() } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// Runs `body` in a limiter slot, or throws 429 with Retry-After when the server is saturated.
    func withWorkSlot<T: Sendable>(route: String, _ body: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        guard await limiter.acquire() else {
            metrics.recordRejected(route: route)
            throw APIError.saturated(retryAfterSeconds: configuration.retryAfterSeconds)
        }
        defer { limiter.release() }
        metrics.recordQueueWait(ContinuousClock.now - start)
        return try await body()
    }

    /// `body` on the CPU pool, in a task cancelled when the client leaves (its connection closes or
    /// half-closes mid-request, seen by the connection's `RequestGuardHandler`) or when this task is.
    func onCPU<T: Sendable>(_ context: EnvrunRequestContext, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        let watch = try? await context.channel?.pipeline.handler(type: RequestGuardHandler.self).map(\.watch).get()
        return try await onCPU(watch: watch, body)
    }

    /// `body` on the CPU pool, cancelled with this task (or by `watch`, when the client leaves).
    func onCPU<T: Sendable>(watch: ConnectionWatch? = nil, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        // Task(executorPreference:), not withTaskExecutorPreference inside a Task: on this runtime the
        // latter ran the closure's first part, and code after a suspension, on the global pool.
        let task = Task(executorPreference: cpu) { try await body() }
        watch?.watch { task.cancel() }
        defer { watch?.clear() }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// Collects the body within the per-request limit and the server-wide budget, then runs `body`
    /// with it; the budget is given back when `body` returns.
    func withBody<T: Sendable>(_ request: Request, route: String, _ body: (ByteBuffer) async throws -> T)
        async throws -> T
    {
        let limit = configuration.maxBodyBytes
        var reserved = 0
        defer { bodies.release(reserved) }
        func take(_ bytes: Int) throws {
            guard bodies.reserve(bytes) else {
                metrics.recordRejected(route: route)
                throw APIError.saturated(
                    retryAfterSeconds: configuration.retryAfterSeconds,
                    "the server is reading too many request bodies at once; retry later")
            }
            reserved += bytes
        }
        // A declared length over the limit is refused at once; the budget is taken as bytes arrive, so
        // a client that declares a large body and sends nothing holds nothing.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.tooLarge(limit: limit)
        }
        var buffer = ByteBuffer()
        do {
            for try await chunk in request.body {
                if buffer.readableBytes + chunk.readableBytes > limit { throw APIError.tooLarge(limit: limit) }
                try take(chunk.readableBytes)
                buffer.writeImmutableBuffer(chunk)
            }
        } catch let error as APIError {
            throw error
        } catch {
            // The client's fault (it closed mid-body, sent a bad chunk size, was cut off by the body
            // deadline): a 400, logged at debug — nobody may be left to read it.
            logger.debug("request body not received", metadata: ["route": "\(route)", "error": "\(error)"])
            throw APIError(.badRequest, code: "body_incomplete",
                           "the request body ended early or was malformed (\(error))", field: "body")
        }
        return try await body(buffer)
    }

    /// Decodes a JSON body after a structural scan: too deep or too many items is a 400 before any
    /// value is built.
    func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer, maxItems: Int? = nil, maxValues: Int? = nil)
        throws -> T
    {
        try JSONIO.precheck(buffer, maxItems: maxItems, maxValues: maxValues)
        return try JSONIO.decode(type, from: buffer)
    }

    /// Environment errors at the edge: fills in the field when the environment left it out.
    func mapped(_ error: EnvrunError, defaultField: String) -> APIError {
        var api = APIError(error)
        if api.field == nil { api.field = defaultField }
        return api
    }
}
