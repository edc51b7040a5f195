import EnvrunCore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// The request context of WebSocket upgrades (Hummingbird keeps the upgrade's handler in it).
struct OpenEnvSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// `GET /openenv/{env}/ws`: OpenEnv's session protocol. One socket is one session with its own episode,
/// as OpenEnv's `EnvClient` expects. Sessions are bounded by `max_sessions` (shared with ORS): past it the
/// socket's first message is answered with CAPACITY_REACHED and the socket is closed. A session idle for
/// `session_idle_seconds` is closed. The bearer token, when the server has one, is checked before the upgrade.
enum OpenEnvSocket {
    static func router(services: AppServices) -> Router<OpenEnvSocketContext> {
        let router = Router(context: OpenEnvSocketContext.self)
        if let token = services.configuration.token { router.add(middleware: AuthMiddleware(token: token)) }
        router.ws("/openenv/{env}/ws") { _, context in
            let name = context.parameters.get("env") ?? ""
            return (try? OpenEnvController.makeSession(services: services, name: name, client: .shared)) == nil
                ? .dontUpgrade : .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let name = context.requestContext.parameters.get("env") ?? ""
            // The session's episodes are under a key of its own: its one episode neither counts against nor
            // is evicted by the quota of the host's other episodes (/v1/episodes).
            let client = ClientKey("openenv:\(UUID().uuidString)")
            guard let session = try? OpenEnvController.makeSession(services: services, name: name, client: client)
            else { return }
            await serve(session, inbound: inbound, outbound: outbound, channel: context.requestContext.channel,
                        services: services, logger: context.logger)
        }
        return router
    }

    static func serve(
        _ session: any OpenEnvSession, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        channel: any Channel, services: AppServices, logger: Logger
    ) async {
        let maxSize = services.configuration.maxBodyBytes
        guard services.sessions.acquire() else {
            // Answer the client's first message (its reset), so that it reads the reason and not a bare close;
            // a client that sends nothing is closed after 10 s (or session_idle_seconds, when shorter).
            services.metrics.recordRejected(route: "/openenv/{env}/ws")
            let limit = services.sessions.capacity
            var error = OpenEnvError(.capacity, "the server has \(limit) sessions open, its limit (max_sessions); retry later",
                                     retryAfterSeconds: services.configuration.retryAfterSeconds).data
            error.activeSessions = limit
            error.maxSessions = limit
            let closer = closeAfter(min(.seconds(10), .seconds(services.configuration.sessionIdleSeconds)), outbound,
                                    channel, "no message")
            defer { closer.cancel() }
            // Only a small first message is read (its contents do not matter).
            var messages = SocketMessages(inbound, maxSize: 4096, budget: services.bodies)
            _ = try? await messages.next()
            messages.release()
            try? await outbound.write(.text(OpenEnvDispatch.message("error", error)))
            return
        }
        defer { services.sessions.release() }
        // The watchdog closes a session that sends nothing for `session_idle_seconds`; closing ends the loop.
        let lastActive = Mutex(ContinuousClock.now)
        let idle = Duration.seconds(services.configuration.sessionIdleSeconds)
        let watchdog = Task {
            while !Task.isCancelled {
                let since = lastActive.withLock { ContinuousClock.now - $0 }
                if since >= idle {
                    logger.debug("OpenEnv session closed after \(idle) idle")
                    await close(outbound, channel, "idle for \(idle)")
                    return
                }
                try? await Task.sleep(for: min(idle - since, .seconds(5)))
            }
        }
        defer { watchdog.cancel() }
        var session = session
        var messages = SocketMessages(inbound, maxSize: maxSize, budget: services.bodies)
        do {
            loop: while let message = try await messages.next() {
                lastActive.withLock { $0 = .now }
                let reply: String
                switch message {
                case .text(let text):
                    switch await handle(text, session: &session, services: services) {
                    case .reply(let r): reply = r
                    case .close: break loop
                    }
                case .binary:
                    reply = OpenEnvDispatch.errorMessage(OpenEnvError(.invalidJSON, "send JSON text frames, not binary"))
                case .invalidUTF8:
                    reply = OpenEnvDispatch.errorMessage(OpenEnvError(.invalidJSON, "the message is not valid UTF-8"))
                case .tooLarge:
                    reply = OpenEnvDispatch.errorMessage(OpenEnvError(
                        .validation, "the message is over \(maxSize) bytes (max_body_bytes)"))
                case .overBudget:
                    services.metrics.recordRejected(route: "/openenv/{env}/ws")
                    reply = OpenEnvDispatch.errorMessage(OpenEnvError(
                        .capacity, "the server is reading too many messages at once; retry later",
                        retryAfterSeconds: services.configuration.retryAfterSeconds))
                }
                messages.release()
                try await outbound.write(.text(reply))
                lastActive.withLock { $0 = .now }
            }
        } catch {
            logger.debug("OpenEnv session ended", metadata: ["error": "\(error)"])
        }
        messages.release()
        await session.end()
    }

    /// One message (its bytes are held in the body budget by `SocketMessages` until it is answered), on the
    /// CPU pool, where its JSON is decoded and its work done.
    static func handle(_ text: String, session: inout any OpenEnvSession, services: AppServices) async
        -> OpenEnvDispatch.Outcome
    {
        let current = session
        do {
            let (outcome, updated) = try await services.onCPU {
                var s = current
                let outcome = await OpenEnvDispatch.handle(text, session: &s)
                return (outcome, s)
            }
            session = updated
            return outcome
        } catch {
            return .reply(OpenEnvDispatch.errorMessage(OpenEnvError(error)))
        }
    }

    /// Closes the socket after `delay` unless cancelled first.
    static func closeAfter(_ delay: Duration, _ outbound: WebSocketOutboundWriter, _ channel: any Channel,
                           _ reason: String) -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: delay)
            if !Task.isCancelled { await close(outbound, channel, reason) }
        }
    }

    /// Seconds a client gets to answer our close frame before the connection is dropped.
    static let closeGrace = Duration.seconds(2)

    /// Sends a close frame, then drops the connection if the client has not closed it within `closeGrace`:
    /// a client that never answers must not keep its connection (and the handler waiting on it) forever.
    static func close(_ outbound: WebSocketOutboundWriter, _ channel: any Channel, _ reason: String) async {
        try? await outbound.close(.goingAway, reason: reason)
        try? await Task.sleep(for: closeGrace)
        try? await channel.close()
    }
}
