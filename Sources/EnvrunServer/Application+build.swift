import EnvrunCore
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// Builds the envrun HTTP application. The CLI (`envrun serve`), the bench and the tests all call this.
///
/// - Parameters:
///   - configuration: validated server settings (host, port, limits, token, connection deadlines).
///   - environment: the packs' `Environment` every scoring route goes through.
///   - executor: the sandbox behind SandboxFusion's `/run_code`.
///   - metrics: where metrics are recorded; `GET /metrics` renders it.
///   - onServerRunning: called with the bound port once listening (useful with port 0).
public func buildApplication(
    configuration: ServerConfiguration,
    environment: any EnvrunCore.Environment,
    executor: any CodeExecutor,
    logger: Logger,
    metrics: ServerMetrics = ServerMetrics(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let services = buildServices(configuration: configuration, environment: environment, executor: executor,
                                 logger: logger, metrics: metrics)
    let router = buildRouter(services: services)
    let bodyTimeout = TimeAmount.nanoseconds(Int64(configuration.bodyTimeoutSeconds * 1e9))
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestGuardHandler(bodyTimeout: bodyTimeout) { metrics.recordDropped("body_timeout") }],
        idleTimeout: .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9)))
    // HTTP/1.1 with the upgrade to OpenEnv's WebSocket sessions (guarded from the first byte as plain HTTP
    // is), or plain HTTP/1.1 with openenv_websocket off.
    let server: HTTPServerBuilder = configuration.openEnvWebSocket
        ? webSocketServer(services: services, http1: http1)
        : .http1(configuration: http1)
    // Idle sessions are reaped at a tenth of the idle time (at least every minute, at most every 0.1 s).
    let reapEvery = Duration.seconds(min(60, max(0.1, configuration.sessionIdleSeconds / 10)))
    return Application(
        router: router,
        server: server,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "envrun",
            backlog: 1024,
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
        services: [SessionReaper(store: services.orsSessions, every: reapEvery)],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// HTTP/1.1 plus OpenEnv's WebSocket upgrade, wrapped in `GuardedUpgradeChannel`. A WebSocket frame is at
/// most 1 MiB (a frame is held whole before anyone can count it; longer messages come in fragments, which
/// `SocketMessages` takes from the body budget as they arrive); the library pings every 30 s and drops a
/// peer that stops answering.
private func webSocketServer(services: AppServices, http1: HTTP1Channel.Configuration) -> HTTPServerBuilder {
    let c = services.configuration
    let wsResponder = OpenEnvSocket.router(services: services).buildResponder()
    let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: http1, ws: .init(maxFrameSize: min(c.maxBodyBytes, 1 << 20), autoPing: .enabled(timePeriod: .seconds(30))))
    let headDeadline = TimeAmount.nanoseconds(Int64(c.idleTimeoutSeconds * 1e9))
    return HTTPServerBuilder { responder in
        GuardedUpgradeChannel(
            inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: wsResponder, configuration: configuration),
            headDeadline: headDeadline)
    }
}

/// One pool of CPU threads per process, made on first use (threads live as long as the process).
private let sharedPools = SharedPools()

private final class SharedPools: Sendable {
    private let pools = Mutex<[Int: CPUPool]>([:])
    func pool(threads: Int) -> CPUPool {
        pools.withLock { pools in
            if let p = pools[threads] { return p }
            let p = CPUPool(threads: threads)
            pools[threads] = p
            return p
        }
    }
}

/// What every route shares: the limits, the pools and the metrics.
func buildServices(
    configuration: ServerConfiguration, environment: any EnvrunCore.Environment, executor: any CodeExecutor,
    logger: Logger, metrics: ServerMetrics
) -> AppServices {
    let limiter = WorkLimiter(slots: configuration.maxConcurrency, queueLimit: configuration.maxQueue) {
        metrics.recordWork($0)
    }
    metrics.recordWork(limiter.snapshot)
    let sessions = SessionSlots(capacity: configuration.maxSessions)
    return AppServices(
        configuration: configuration, environment: environment, executor: executor, limiter: limiter,
        metrics: metrics,
        scorer: BatchScorer(environment: environment, concurrency: configuration.itemConcurrency, metrics: metrics,
                            logger: logger),
        logger: logger,
        cpu: sharedPools.pool(threads: configuration.cpuThreads ?? CPUPool.availableCores),
        bodies: BodyBudget(limit: configuration.bodyBudgetBytes),
        sessions: sessions,
        orsSessions: ORSSessionStore(slots: sessions, idle: .seconds(configuration.sessionIdleSeconds),
                                     environment: environment))
}

/// The router alone, with every route and middleware (order matters: metrics see the final status
/// because they sit outside the error middleware; auth runs inside it so a 401 is JSON too).
func buildRouter(services: AppServices) -> Router<EnvrunRequestContext> {
    let router = Router(context: EnvrunRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: ErrorMiddleware())
    if let token = services.configuration.token { router.add(middleware: AuthMiddleware(token: token)) }

    HealthController(services: services).addRoutes(to: router)
    PackController(services: services).addRoutes(to: router)
    ScoreController(services: services).addRoutes(to: router)
    EpisodeController(services: services).addRoutes(to: router)
    SandboxFusionController(services: services).addRoutes(to: router)
    OpenRLHFController(services: services).addRoutes(to: router)
    OpenEnvController(services: services).addRoutes(to: router)
    ORSController(services: services).addRoutes(to: router)
    VLLMScoringController(services: services).addRoutes(to: router)
    NeMoGymController(services: services).addRoutes(to: router)
    return router
}
