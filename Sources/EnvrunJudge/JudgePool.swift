import EnvrunCore
import Foundation
import Logging

/// The judges a server knows, by name, each one client (so one breaker and one concurrency limit per
/// judge, whichever packs use it), with one cache and one set of metrics for all. Packs name a judge;
/// only the server's configuration says where a judge lives and which environment variable holds its key,
/// so a pack cannot point envrun (or a judge's key) at a host of its choosing.
public struct JudgePool: Sendable {
    public let clients: [String: any ChatCompletionClient]
    public let cache: JudgeCache
    public let metrics: JudgeMetrics

    public init(
        clients: [String: any ChatCompletionClient], cache: JudgeCache = JudgeCache(),
        metrics: JudgeMetrics = JudgeMetrics()
    ) {
        self.clients = clients
        self.cache = cache
        self.metrics = metrics
    }

    /// One `OpenAIChatClient` per endpoint. Names must be unique.
    public init(
        endpoints: [JudgeEndpoint], cache: JudgeCache = JudgeCache(), metrics: JudgeMetrics = JudgeMetrics(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "envrun.judge")
    ) throws {
        var clients: [String: any ChatCompletionClient] = [:]
        for endpoint in endpoints {
            guard clients[endpoint.name] == nil else {
                throw EnvrunError(.invalidInput, "two judges are named \"\(endpoint.name)\"", field: "judges")
            }
            clients[endpoint.name] = OpenAIChatClient(endpoint: endpoint, environment: environment, logger: logger)
        }
        self.init(clients: clients, cache: cache, metrics: metrics)
    }

    public static let empty = JudgePool(clients: [:])

    public var names: [String] { clients.keys.sorted() }

    /// The generative RM over the named judge, or an error saying which judges exist.
    public func model(
        judge name: String, template: JudgeTemplate, metaRM: (any ScalarRewardModel)? = nil
    ) -> Result<GenerativeRewardModel, EnvrunError> {
        guard let client = clients[name] else {
            let known = names.isEmpty
                ? "no judge is configured (envrun serve --judge-url URL --judge-model NAME, or judges: in --config)"
                : "configured: \(names.joined(separator: ", "))"
            return .failure(EnvrunError(.unavailable, "no judge named \"\(name)\": \(known)", field: "judge"))
        }
        return .success(
            GenerativeRewardModel(
                client: client, template: template, judgeName: name, metaRM: metaRM, cache: cache, metrics: metrics))
    }
}
