import EnvrunTasks

/// Everything `envrun serve` can be told, with defaults. Files and flags are parsed at the edge (the CLI,
/// `ServerConfiguration.load(file:)`); the application only sees this typed value.
public struct ServerConfiguration: Sendable, Equatable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Bearer token required on every route but `/healthz` and `/v1/ping`; nil turns auth off.
    public var token: String?
    /// Requests doing work at once (score, episodes, run_code, get_reward).
    public var maxConcurrency: Int = 8
    /// Requests that may wait for a slot before the server answers 429.
    public var maxQueue: Int = 32
    /// Items of one score batch scored at once.
    public var itemConcurrency: Int = 4
    public var maxBodyBytes: Int = 8 * 1024 * 1024
    public var maxBatchItems: Int = 1024
    public var maxPageSize: Int = 500
    public var defaultPageSize: Int = 50
    /// Seconds a client is told to wait after a 429.
    public var retryAfterSeconds: Int = 1
    /// Longest `run_timeout` accepted on `/run_code`, in seconds.
    public var maxRunTimeoutSeconds: Double = 60
    /// Language ids `/run_code` accepts after alias mapping; nil passes every id to the executor.
    public var languages: [String]?
    /// OpenRLHF `/get_reward`: the pack that scores a bare gold answer, and the one for unlabeled queries.
    public var mathPack: String = "math500"
    public var unlabeledPack: String = "hh-helpful"
    /// `GET /v1/packs/{pack}/tasks` includes what grades a task (gold answers, tests, reference
    /// solutions, io cases, metadata). Off by default: a policy with an HTTP tool could read them.
    public var exposeTaskSecrets: Bool = false
    /// Listen on a non-loopback address without a token. Off by default: `/run_code`, inline code tasks
    /// and episodes run code by design, so an open port is a code-execution service for anyone.
    public var allowUnauthenticatedRemote: Bool = false
    /// Open multi-turn episodes: in all (`max_episodes`), per client (`episodes_per_client`) and how long
    /// an unused one lives (`episode_ttl_seconds`).
    public var episodes = EpisodeSettings()

    /// Open connections at most; past it the server stops accepting (the kernel's backlog holds the
    /// rest). `envrun serve` also lowers it to what the fd limit allows after a reserve for the sandbox.
    public var maxConnections: Int = 1024
    /// Seconds a connection may sit without a request (also bounds a client that trickles headers).
    public var idleTimeoutSeconds: Double = 30
    /// Seconds from a request's head to the end of its body; slower uploads are cut off.
    public var bodyTimeoutSeconds: Double = 30
    /// Bytes of request bodies held at once across all requests; past it: 429 before reading more.
    public var bodyBudgetBytes: Int = 64 * 1024 * 1024
    /// Threads that decode bodies and score (math checks, reward models); nil: one per core.
    public var cpuThreads: Int?
    /// Stdin/stdout cases of one inline task in `/v1/score` (each is a sandboxed run).
    public var maxInlineCases: Int = 64
    /// `POST /run_code` (SandboxFusion) answers; off: 403.
    public var runCode: Bool = true
    /// Inline tasks (a `task` instead of a `task_id`) in `/v1/score`; off: 400. Inline code tasks run
    /// the client's tests in the sandbox.
    public var inlineTasks: Bool = true
    /// On SIGTERM/SIGINT, seconds in-flight requests get to finish before connections are closed.
    public var shutdownTimeoutSeconds: Double = 30
    /// Protocol sessions open at once (OpenEnv WebSockets and Open Reward Standard sessions, each
    /// counted); past it a new one is refused with CAPACITY_REACHED (OpenEnv) or 429 (ORS).
    public var maxSessions: Int = 512
    /// OpenEnv's WebSocket sessions at /openenv/{env}/ws (the upgrade pipeline is guarded like plain HTTP:
    /// `GuardedUpgradeChannel`). Off leaves plain HTTP/1.1; OpenEnv's HTTP routes work either way.
    public var openEnvWebSocket: Bool = true
    /// Seconds a protocol session may sit without a message before it is closed and forgotten.
    public var sessionIdleSeconds: Double = 900

    public init() {}

    /// 127.0.0.0/8, ::1 and localhost.
    public var hostIsLoopback: Bool {
        let h = host.lowercased()
        return h == "localhost" || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
    }

    /// Checks ranges; errors name the setting at fault.
    public func validated() throws -> ServerConfiguration {
        func positive(_ value: Int, _ name: String) throws {
            if value <= 0 { throw ConfigurationError("\(name) must be positive, got \(value)", field: name) }
        }
        try positive(maxConcurrency, "max_concurrency")
        try positive(itemConcurrency, "item_concurrency")
        try positive(maxBodyBytes, "max_body_bytes")
        try positive(maxBatchItems, "max_batch_items")
        try positive(maxPageSize, "max_page_size")
        try positive(defaultPageSize, "default_page_size")
        try positive(retryAfterSeconds, "retry_after_seconds")
        try positive(maxConnections, "max_connections")
        try positive(maxInlineCases, "max_inline_cases")
        try positive(bodyBudgetBytes, "body_budget_bytes")
        try positive(maxSessions, "max_sessions")
        if let cpuThreads { try positive(cpuThreads, "cpu_threads") }
        for (value, name) in [(idleTimeoutSeconds, "idle_timeout_seconds"), (bodyTimeoutSeconds, "body_timeout_seconds"),
                              (shutdownTimeoutSeconds, "shutdown_timeout_seconds"),
                              (sessionIdleSeconds, "session_idle_seconds")]
        where !(value > 0 && value.isFinite) {
            throw ConfigurationError("\(name) must be a positive number of seconds, got \(value)", field: name)
        }
        if bodyBudgetBytes < maxBodyBytes {
            throw ConfigurationError("body_budget_bytes (\(bodyBudgetBytes)) must be at least max_body_bytes (\(maxBodyBytes))",
                                     field: "body_budget_bytes")
        }
        try positive(episodes.capacity, "max_episodes")
        try positive(episodes.perClient, "episodes_per_client")
        if episodes.ttl <= .zero {
            throw ConfigurationError("episode_ttl_seconds must be positive, got \(episodes.ttl)", field: "episode_ttl_seconds")
        }
        if maxQueue < 0 { throw ConfigurationError("max_queue must be >= 0, got \(maxQueue)", field: "max_queue") }
        if !(0...65535).contains(port) { throw ConfigurationError("port must be 0...65535, got \(port)", field: "port") }
        if defaultPageSize > maxPageSize {
            throw ConfigurationError("default_page_size exceeds max_page_size", field: "default_page_size")
        }
        if let token, token.isEmpty { throw ConfigurationError("token must not be empty", field: "token") }
        if token == nil && !hostIsLoopback && !allowUnauthenticatedRemote {
            throw ConfigurationError(
                "refusing to listen on \(host) without a token: anyone who reaches the port could run code here; "
                    + "set --token (or ENVRUN_TOKEN), or pass --allow-unauthenticated-remote to accept that", field: "host")
        }
        return self
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let field: String?
    public init(_ message: String, field: String? = nil) {
        self.message = message
        self.field = field
    }
    public var description: String { field.map { "config: \($0): \(message)" } ?? "config: \(message)" }
}
