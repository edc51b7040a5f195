import EnvrunCore
import Hummingbird
import Logging

/// Builds the envrun HTTP application. The CLI (`envrun serve`), the bench and the tests all call this.
///
/// - Parameters:
///   - configuration: validated server settings (host, port, limits, token).
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
    let router = buildRouter(configuration: configuration, environment: environment, executor: executor,
                             logger: logger, metrics: metrics)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "envrun"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// The router alone, with every route and middleware (order matters: metrics see the final status
/// because they sit outside the error middleware; auth runs inside it so a 401 is JSON too).
func buildRouter(
    configuration: ServerConfiguration, environment: any EnvrunCore.Environment, executor: any CodeExecutor,
    logger: Logger, metrics: ServerMetrics
) -> Router<BasicRequestContext> {
    let limiter = WorkLimiter(slots: configuration.maxConcurrency, queueLimit: configuration.maxQueue) {
        metrics.recordWork($0)
    }
    metrics.recordWork(limiter.snapshot)
    let services = AppServices(
        configuration: configuration, environment: environment, executor: executor, limiter: limiter,
        metrics: metrics,
        scorer: BatchScorer(environment: environment, concurrency: configuration.itemConcurrency, metrics: metrics,
                            logger: logger),
        logger: logger)

    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware())
    if let token = configuration.token { router.add(middleware: AuthMiddleware(token: token)) }

    HealthController(services: services).addRoutes(to: router)
    PackController(services: services).addRoutes(to: router)
    ScoreController(services: services).addRoutes(to: router)
    EpisodeController(services: services).addRoutes(to: router)
    SandboxFusionController(services: services).addRoutes(to: router)
    OpenRLHFController(services: services).addRoutes(to: router)
    return router
}
