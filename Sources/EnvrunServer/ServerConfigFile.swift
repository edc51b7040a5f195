import Foundation
import Yams

/// The `--config FILE` format (YAML or JSON; JSON is YAML). Every key is optional and snake_case:
///
/// ```yaml
/// host: 127.0.0.1
/// port: 8080
/// packs: /srv/packs
/// token: s3cret
/// max_concurrency: 8
/// max_queue: 32
/// item_concurrency: 4
/// max_body_bytes: 8388608
/// max_batch_items: 1024
/// max_page_size: 500
/// retry_after_seconds: 1
/// max_run_timeout_seconds: 60
/// math_pack: math500
/// unlabeled_pack: hh-helpful
/// expose_task_secrets: false
/// max_episodes: 10000
/// episodes_per_client: 1000
/// episode_ttl_seconds: 3600
/// judges:                      # OpenAI-compatible judges that generative_rm / hybrid packs name
///   - name: default
///     url: http://127.0.0.1:8000/v1
///     model: Qwen/Qwen2.5-7B-Instruct
///     api_key_env: JUDGE_API_KEY   # the variable's name; the key itself never goes in a file
///     timeout_seconds: 60
///     retries: 2
///     max_concurrency: 4
///     breaker_threshold: 5
///     breaker_cooldown_seconds: 30
///     honours_n: true
///     constraint_field: structured_outputs   # none, grammar, structured_outputs, guided_regex, regex
/// ```
public struct ServerConfigFile: Codable, Sendable, Equatable {
    public var host: String?
    public var port: Int?
    public var packs: String?
    public var token: String?
    public var maxConcurrency: Int?
    public var maxQueue: Int?
    public var itemConcurrency: Int?
    public var maxBodyBytes: Int?
    public var maxBatchItems: Int?
    public var maxPageSize: Int?
    public var retryAfterSeconds: Int?
    public var maxRunTimeoutSeconds: Double?
    public var mathPack: String?
    public var unlabeledPack: String?
    public var exposeTaskSecrets: Bool?
    public var maxConnections: Int?
    public var idleTimeoutSeconds: Double?
    public var bodyTimeoutSeconds: Double?
    public var bodyBudgetBytes: Int?
    public var cpuThreads: Int?
    public var shutdownTimeoutSeconds: Double?
    public var maxInlineCases: Int?
    public var runCode: Bool?
    public var inlineTasks: Bool?
    public var maxEpisodes: Int?
    public var episodesPerClient: Int?
    public var episodeTTLSeconds: Double?
    public var maxSessions: Int?
    public var openEnvWebSocket: Bool?
    public var sessionIdleSeconds: Double?
    public var judges: [JudgeConfig]?

    enum CodingKeys: String, CodingKey {
        case host, port, packs, token
        case maxConcurrency = "max_concurrency"
        case maxQueue = "max_queue"
        case itemConcurrency = "item_concurrency"
        case maxBodyBytes = "max_body_bytes"
        case maxBatchItems = "max_batch_items"
        case maxPageSize = "max_page_size"
        case retryAfterSeconds = "retry_after_seconds"
        case maxRunTimeoutSeconds = "max_run_timeout_seconds"
        case mathPack = "math_pack"
        case unlabeledPack = "unlabeled_pack"
        case exposeTaskSecrets = "expose_task_secrets"
        case maxConnections = "max_connections"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case bodyTimeoutSeconds = "body_timeout_seconds"
        case bodyBudgetBytes = "body_budget_bytes"
        case cpuThreads = "cpu_threads"
        case shutdownTimeoutSeconds = "shutdown_timeout_seconds"
        case maxInlineCases = "max_inline_cases"
        case runCode = "run_code"
        case inlineTasks = "inline_tasks"
        case maxEpisodes = "max_episodes"
        case episodesPerClient = "episodes_per_client"
        case episodeTTLSeconds = "episode_ttl_seconds"
        case maxSessions = "max_sessions"
        case openEnvWebSocket = "openenv_websocket"
        case sessionIdleSeconds = "session_idle_seconds"
        case judges
    }

    public init() {}

    /// Parses YAML or JSON text. Unknown keys are an error, so a typo does not pass silently.
    public static func parse(_ text: String, path: String = "config") throws -> ServerConfigFile {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError("\(path) is not valid YAML or JSON: \(error)")
        }
        guard let node else { return ServerConfigFile() }
        guard let mapping = node.mapping else { throw ConfigurationError("\(path): expected a mapping of settings") }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in mapping.keys {
            let name = key.string ?? "\(key)"
            if !known.contains(name) {
                throw ConfigurationError("\(path): unknown setting '\(name)'", field: name)
            }
        }
        if let judges = mapping["judges"]?.sequence {
            let judgeKeys = Set(JudgeConfig.CodingKeys.allCases.map(\.rawValue))
            for (i, entry) in judges.enumerated() {
                for key in entry.mapping.map({ Array($0.keys) }) ?? [] where !judgeKeys.contains(key.string ?? "") {
                    throw ConfigurationError(
                        "\(path): judges[\(i)]: unknown setting '\(key.string ?? "\(key)")'", field: "judges")
                }
            }
        }
        do {
            return try YAMLDecoder().decode(ServerConfigFile.self, from: node)
        } catch let error as DecodingError {
            let field: String? =
                switch error {
                case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                    c.codingPath.last?.stringValue
                case .keyNotFound(let k, _): k.stringValue
                @unknown default: nil
                }
            throw ConfigurationError("\(path): wrong type for a setting", field: field)
        }
    }

    public static func load(path: String) throws -> ServerConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read config file \(path)", field: "config")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("config file \(path) is not UTF-8", field: "config")
        }
        return try parse(text, path: path)
    }

    /// Applies the file's settings over `base`.
    public func apply(to base: ServerConfiguration) -> ServerConfiguration {
        var c = base
        if let host { c.host = host }
        if let port { c.port = port }
        if let token { c.token = token }
        if let maxConcurrency { c.maxConcurrency = maxConcurrency }
        if let maxQueue { c.maxQueue = maxQueue }
        if let itemConcurrency { c.itemConcurrency = itemConcurrency }
        if let maxBodyBytes { c.maxBodyBytes = maxBodyBytes }
        if let maxBatchItems { c.maxBatchItems = maxBatchItems }
        if let maxPageSize { c.maxPageSize = maxPageSize }
        if let retryAfterSeconds { c.retryAfterSeconds = retryAfterSeconds }
        if let maxRunTimeoutSeconds { c.maxRunTimeoutSeconds = maxRunTimeoutSeconds }
        if let mathPack { c.mathPack = mathPack }
        if let unlabeledPack { c.unlabeledPack = unlabeledPack }
        if let exposeTaskSecrets { c.exposeTaskSecrets = exposeTaskSecrets }
        if let maxConnections { c.maxConnections = maxConnections }
        if let idleTimeoutSeconds { c.idleTimeoutSeconds = idleTimeoutSeconds }
        if let bodyTimeoutSeconds { c.bodyTimeoutSeconds = bodyTimeoutSeconds }
        if let bodyBudgetBytes { c.bodyBudgetBytes = bodyBudgetBytes }
        if let cpuThreads { c.cpuThreads = cpuThreads }
        if let shutdownTimeoutSeconds { c.shutdownTimeoutSeconds = shutdownTimeoutSeconds }
        if let maxInlineCases { c.maxInlineCases = maxInlineCases }
        if let runCode { c.runCode = runCode }
        if let inlineTasks { c.inlineTasks = inlineTasks }
        if let maxSessions { c.maxSessions = maxSessions }
        if let openEnvWebSocket { c.openEnvWebSocket = openEnvWebSocket }
        if let sessionIdleSeconds { c.sessionIdleSeconds = sessionIdleSeconds }
        if let maxEpisodes { c.episodes.capacity = maxEpisodes }
        if let episodesPerClient { c.episodes.perClient = episodesPerClient }
        if let episodeTTLSeconds {
            c.episodes.ttl = episodeTTLSeconds.isFinite && episodeTTLSeconds < 1e12 ? .seconds(episodeTTLSeconds) : .zero
        }
        return c
    }
}

extension ServerConfigFile.CodingKeys: CaseIterable {}
