import EnvrunCore
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully (in-flight requests finish).
/// Logs one line once listening: the URL (with the real port when `port` is 0) and the packs loaded.
public func runServer(
    configuration: ServerConfiguration,
    environment: any EnvrunCore.Environment,
    executor: any CodeExecutor,
    logger: Logger,
    metrics: ServerMetrics = ServerMetrics(),
    onRunning: @escaping @Sendable (_ url: String) async -> Void = { _ in }
) async throws {
    let packs = environment.packs()
    let app = buildApplication(
        configuration: configuration, environment: environment, executor: executor, logger: logger, metrics: metrics,
        onServerRunning: { port in
            let url = "http://\(urlHost(configuration.host)):\(port)"
            let list = packs.map { "\($0.name)(\($0.taskCount))" }.joined(separator: ", ")
            logger.notice(
                "envrun serve listening on \(url) with \(packs.count) packs: \(list)",
                metadata: ["url": "\(url)", "auth": "\(configuration.token == nil ? "off" : "bearer")"])
            await onRunning(url)
        })
    // On SIGTERM/SIGINT the server stops accepting and lets requests in flight finish; after the
    // shutdown timeout it is cancelled, which closes every connection (a half-sent body included).
    var groupConfiguration = ServiceGroupConfiguration(
        services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    groupConfiguration.maximumGracefulShutdownDuration = .nanoseconds(Int64(configuration.shutdownTimeoutSeconds * 1e9))
    groupConfiguration.maximumCancellationDuration = .seconds(5)
    let group = ServiceGroup(configuration: groupConfiguration)
    try await group.run()
}

func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
