import ArgumentParser
import EnvrunJudge
import EnvrunSandbox
import EnvrunServer
import Foundation
import Logging

/// `envrun serve`: the reward server. Flags override the config file, which overrides the defaults.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve rewards over HTTP to RL trainers (verl, OpenRLHF, TRL, SandboxFusion clients).",
        discussion: """
            Runs with no flags on the shipped packs, on 127.0.0.1:8080.
              POST /v1/score             score a batch of {pack, task_id, response}
              POST /v1/episodes          start an episode; POST /v1/episodes/{id}/step
              GET  /v1/packs             packs; GET /v1/packs/{pack}/tasks?offset=&limit=
              POST /run_code             SandboxFusion (and GET /v1/ping)
              POST /get_reward           OpenRLHF remote reward model
              GET  /healthz, /metrics    health; Prometheus metrics
            When all work slots and queue places are busy: 429 with Retry-After.
            SIGINT or SIGTERM stop it gracefully: requests in flight finish (up to --shutdown-timeout).
            Connections idle or slow to send headers past --idle-timeout, or a body past --body-timeout,
            are closed; work of a client that disconnects is cancelled.
            As root it refuses to start when the sandbox would have no cgroup memory and pids limits
            (cgroup v1 or v2; see envrun doctor) unless --allow-no-cgroups is given.
            Judges for generative_rm and hybrid packs: --judge-url/--judge-model define the judge named
            "default"; more go in the config file's judges: list. Keys are read from the environment
            variable --judge-api-key-env names, sent only to that judge, and never reach sandboxed jobs.
            """)

    @Option(help: "Address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface).")
    var host: String?

    @Option(help: "Port to listen on (default 8080; 0 picks a free port, printed in the start line).")
    var port: Int?

    @Option(help: "Directory of task packs (default: the shipped Tasks/).")
    var packs: String?

    @Option(help: "Bearer token required on every route but /healthz and /v1/ping (default: $ENVRUN_TOKEN; none: no auth).")
    var token: String?

    @Option(help: "YAML or JSON file of settings (snake_case keys, e.g. port, max_concurrency, token, packs).")
    var config: String?

    @Option(help: "Requests doing work at once (default 8).")
    var maxConcurrency: Int?

    @Option(help: "Requests that may wait for a work slot before the server answers 429 (default 32).")
    var maxQueue: Int?

    @Option(help: "Largest request body in bytes; larger ones get 413 (default 8388608).")
    var maxBodyBytes: Int?

    @Option(help: "Open connections at most (default 1024; lowered to what the fd limit allows).")
    var maxConnections: Int?

    @Option(help: "OpenEnv WebSocket and Open Reward Standard sessions open at once; past it new ones are refused with CAPACITY_REACHED / 429 (default 512).")
    var maxSessions: Int?

    @Option(help: "Seconds a protocol session may sit without a message before it is closed (default 900).")
    var sessionIdle: Double?

    @Flag(inversion: .prefixedNo, help: "Serve OpenEnv's WebSocket sessions at /openenv/{pack}/ws (on by default; --no-openenv-websocket leaves plain HTTP/1.1, and OpenEnv's HTTP routes).")
    var openenvWebsocket: Bool? = nil

    @Option(help: "Seconds a connection may sit idle or take to send its headers (default 30).")
    var idleTimeout: Double?

    @Option(help: "Seconds a request may take to send its body after its headers (default 30).")
    var bodyTimeout: Double?

    @Option(help: "On SIGTERM/SIGINT, seconds requests in flight get to finish before connections are closed (default 30).")
    var shutdownTimeout: Double?

    @Option(help: "Threads that decode bodies and score math and reward models (default: one per core).")
    var cpuThreads: Int?

    @Flag(help: "Turn off POST /run_code (403): no arbitrary programs from clients.")
    var noRunCode = false

    @Flag(help: "Refuse inline tasks in /v1/score (400): only the served packs' tasks are scored.")
    var noInlineTasks = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(help: "Include gold answers, tests, reference solutions and metadata in GET /v1/packs/{pack}/tasks (off: a policy with an HTTP tool could read them).")
    var exposeTaskSecrets = false

    @Flag(help: "Listen on a non-loopback --host without a token (refused by default: /run_code and code tasks run code for whoever reaches the port).")
    var allowUnauthenticatedRemote = false

    @Option(help: "Sandbox slots: programs that run at once, each with its own uid, tmpfs, cgroups and warm worker (default: the number of cores).")
    var sandboxSlots: Int?

    @Option(help: "Base URL of an OpenAI-compatible judge (vLLM, SGLang, llama.cpp, a hosted API), e.g. http://127.0.0.1:8000/v1: the judge named \"default\".")
    var judgeURL: String?

    @Option(help: "The judge's model name, as its server knows it (with --judge-url).")
    var judgeModel: String?

    @Option(help: "Environment variable that holds the judge's API key (the name, not the key), e.g. OPENAI_API_KEY.")
    var judgeAPIKeyEnv: String?

    @Option(help: "Where the judge's server takes an output constraint: none, grammar (llama.cpp), structured_outputs (vLLM), guided_regex, regex (SGLang). Default none.")
    var judgeConstraint: String?

    @Flag(help: "The judge's server honours n (vLLM, SGLang): k samples in one request when shuffling is off.")
    var judgeHonoursN = false

    @Flag(help: "Start even without cgroup memory and pids limits (refused by default; `envrun doctor` shows why they are missing). Jobs are then bounded by rlimits only, which are per process, not per run.")
    var allowNoCgroups = false

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        var logger = Logger(label: "envrun.serve")
        logger.logLevel = level

        var settings = ServerConfiguration()
        var packsDirectory = packs
        var judges: [JudgeConfig] = []
        if let config {
            let file = try Self.configFile(config)
            settings = file.apply(to: settings)
            judges = file.judges ?? []
            packsDirectory = packsDirectory ?? file.packs
        }
        if let host { settings.host = host }
        if let port { settings.port = port }
        if let maxConcurrency { settings.maxConcurrency = maxConcurrency }
        if let maxQueue { settings.maxQueue = maxQueue }
        if let maxBodyBytes { settings.maxBodyBytes = maxBodyBytes }
        if let maxConnections { settings.maxConnections = maxConnections }
        if let idleTimeout { settings.idleTimeoutSeconds = idleTimeout }
        if let maxSessions { settings.maxSessions = maxSessions }
        if let sessionIdle { settings.sessionIdleSeconds = sessionIdle }
        if let openenvWebsocket { settings.openEnvWebSocket = openenvWebsocket }
        if let bodyTimeout { settings.bodyTimeoutSeconds = bodyTimeout }
        if let shutdownTimeout { settings.shutdownTimeoutSeconds = shutdownTimeout }
        if let cpuThreads { settings.cpuThreads = cpuThreads }
        if noRunCode { settings.runCode = false }
        if noInlineTasks { settings.inlineTasks = false }
        if let token = token ?? settings.token ?? ProcessInfo.processInfo.environment["ENVRUN_TOKEN"] {
            // An empty token would otherwise turn auth off without a word.
            guard !token.isEmpty else {
                throw ValidationError("the token is empty (--token, the config file or ENVRUN_TOKEN): give a real one, or none")
            }
            settings.token = token
        }
        if exposeTaskSecrets { settings.exposeTaskSecrets = true }
        if allowUnauthenticatedRemote { settings.allowUnauthenticatedRemote = true }
        do {
            settings = try settings.validated()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }

        if let sandboxSlots, !(1...64).contains(sandboxSlots) {
            throw ValidationError("--sandbox-slots must be between 1 and 64 (got \(sandboxSlots))")
        }
        let endpoints = try judgeEndpoints(judges)
        var sandbox = SandboxConfiguration(requireCgroups: !allowNoCgroups)
        if let sandboxSlots { sandbox.slots = sandboxSlots }
        let metrics = ServerMetrics()
        let parts = try await ServerWiring.make(
            packsDirectory: packsDirectory, sandbox: sandbox, episodes: settings.episodes, judges: endpoints,
            metrics: metrics, logger: logger)
        if settings.languages == nil { settings.languages = parts.languages }
        // Connections and the sandbox share the fd table: raise the limit, keep a reserve for the slots.
        let fdLimit = FileLimit.raise()
        let wanted = settings.maxConnections
        settings = settings.fitting(fdLimit: fdLimit, sandboxSlots: sandbox.slots)
        if settings.maxConnections < wanted {
            logger.warning("max_connections lowered to \(settings.maxConnections): the open-file limit is \(fdLimit)")
        }
        try await parts.closing {
            try await runServer(configuration: settings, environment: parts.environment, executor: parts.executor,
                                logger: logger, metrics: metrics)
        }
    }

    /// The config file's judges, with the --judge-* flags as (or over) the one named "default".
    func judgeEndpoints(_ fromFile: [JudgeConfig]) throws -> [JudgeEndpoint] {
        var judges = fromFile
        if judgeURL != nil || judgeModel != nil {
            guard let judgeURL, let judgeModel else {
                throw ValidationError("--judge-url and --judge-model go together")
            }
            judges.removeAll { ($0.name ?? "default") == "default" }
            var flagged = JudgeConfig(name: "default", url: judgeURL, model: judgeModel, apiKeyEnv: judgeAPIKeyEnv)
            flagged.constraintField = judgeConstraint
            if judgeHonoursN { flagged.honoursN = true }
            judges.append(flagged)
        } else if judgeAPIKeyEnv != nil || judgeConstraint != nil || judgeHonoursN {
            throw ValidationError("--judge-api-key-env, --judge-constraint and --judge-honours-n need --judge-url and --judge-model")
        }
        do {
            let endpoints = try judges.map { try $0.endpoint() }
            if let twice = Dictionary(grouping: endpoints, by: \.name).first(where: { $0.value.count > 1 })?.key {
                throw ValidationError("two judges are named \"\(twice)\"")
            }
            return endpoints
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    static func configFile(_ path: String) throws -> ServerConfigFile {
        do {
            return try ServerConfigFile.load(path: path)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
