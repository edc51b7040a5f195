import EnvrunCore
import Foundation

/// The environment behind one OpenEnv session (one WebSocket, or one stateless HTTP call): a pack, or the
/// coding environment. Replies are the `data` of OpenEnv's messages; errors are `OpenEnvError`.
protocol OpenEnvSession: Sendable {
    mutating func reset(_ data: OpenEnvWire.ResetData) async throws -> any Encodable & Sendable
    /// `action` is the action object's JSON (the WebSocket's `data`, HTTP's `action`).
    mutating func step(action: Data) async throws -> any Encodable & Sendable
    func state() -> any Encodable & Sendable
    static var tools: [JSONRPC.Tool] { get }
    /// An MCP `tools/call`; the reply is MCP's tool result.
    mutating func call(tool: String, arguments: JSONRPC.Arguments) async throws -> any Encodable & Sendable
    /// The session is over (its socket closed): let go of what it holds.
    func end() async
}

extension OpenEnvSession {
    func end() async {}
}

/// An error with one of OpenEnv's codes.
struct OpenEnvError: Error, Sendable {
    var code: OpenEnvWire.ErrorCode
    var message: String
    var retryAfterSeconds: Int?

    init(_ code: OpenEnvWire.ErrorCode, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Any error met while handling a message, in OpenEnv's terms: the caller's mistakes are
    /// VALIDATION_ERROR, a saturated server CAPACITY_REACHED (with a retry hint), the rest EXECUTION_ERROR.
    init(_ error: any Error) {
        switch error {
        case let e as OpenEnvError: self = e
        case let e as EnvrunError:
            let caller = e.code == .invalidInput || e.code == .notFound
            self.init(caller ? .validation : .execution, e.message)
        case let e as APIError where e.status == .tooManyRequests:
            self.init(.capacity, e.message, retryAfterSeconds: e.headers[.retryAfter].flatMap(Int.init))
        case let e as APIError where (400..<500).contains(e.status.code):
            self.init(.validation, e.field.map { "\($0): \(e.message)" } ?? e.message)
        case let e as APIError: self.init(.execution, e.message)
        case is CancellationError: self.init(.execution, "cancelled")
        default: self.init(.execution, "\(error)")
        }
    }

    var data: OpenEnvWire.ErrorData {
        OpenEnvWire.ErrorData(message: message, code: code.rawValue, retryAfterS: retryAfterSeconds)
    }
}

/// Decodes an action or message part, as a VALIDATION_ERROR naming what is wrong.
func openEnvDecode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let error as DecodingError {
        let api = APIError(decoding: error)
        throw OpenEnvError(.validation, api.field.map { "\($0): \(api.message)" } ?? api.message)
    }
}

/// A pack as an OpenEnv environment: reset opens an episode on a task (by `task_id`, by `seed`, or at
/// random) and observes its prompt; step takes `{"response"}` and scores it through the pack's episode, so
/// multi-turn packs continue until done. A check that failed on envrun's side has reward null and
/// `mask_sample: true`, and does not use up a turn.
struct OpenEnvPackSession: OpenEnvSession {
    let services: AppServices
    let pack: String
    let client: ClientKey
    private(set) var episode: PackEpisode?

    init(services: AppServices, pack: String, client: ClientKey) {
        self.services = services
        self.pack = pack
        self.client = client
    }

    static let route = "/openenv/{pack}"

    mutating func reset(_ data: OpenEnvWire.ResetData) async throws -> any Encodable & Sendable {
        try await open(data)
    }

    mutating func open(_ data: OpenEnvWire.ResetData) async throws -> OpenEnvWire.Result<OpenEnvWire.PackObservation> {
        let (environment, pack, client) = (services.environment, self.pack, self.client)
        let opened = try await services.work(route: Self.route) {
            try await PackEpisode.open(environment, pack: pack, taskID: data.taskID, seed: data.seed, client: client)
        }
        // A session holds one episode: the one it reset away from is closed.
        if let previous = episode { await services.environment.close(episodeID: previous.episodeID) }
        episode = opened
        return Self.result(opened, text: opened.prompt, step: nil)
    }

    mutating func step(action: Data) async throws -> any Encodable & Sendable {
        try await submit(openEnvDecode(OpenEnvWire.PackAction.self, action).response)
    }

    mutating func submit(_ response: String) async throws -> OpenEnvWire.Result<OpenEnvWire.PackObservation> {
        guard let current = episode else {
            throw OpenEnvError(.execution, "no episode: send reset before step")
        }
        let environment = services.environment
        let (step, after) = try await services.work(route: Self.route) {
            var e = current
            let step = try await e.submit(environment, response: response)
            return (step, e)
        }
        episode = after
        return Self.result(after, text: step.observation, step: step)
    }

    func end() async {
        if let episode { await services.environment.close(episodeID: episode.episodeID) }
    }

    func state() -> any Encodable & Sendable {
        OpenEnvWire.State(
            episodeID: episode?.episodeID, stepCount: episode?.stepCount ?? 0, pack: pack, taskID: episode?.taskID,
            done: episode?.done ?? false, turnRewards: episode?.last?.turnRewards ?? [])
    }

    static var tools: [JSONRPC.Tool] {
        [JSONRPC.Tool(
            name: "submit",
            description: "Submit a response to the current task; returns the reward, whether the episode is done, and "
                + "the feedback. Over HTTP (stateless) also give task_id.",
            inputSchema: .object(
                ["response": .string("the response to score"),
                 "task_id": .string("the task (HTTP only; a WebSocket session uses its episode's task)")],
                required: ["response"]))]
    }

    mutating func call(tool: String, arguments: JSONRPC.Arguments) async throws -> any Encodable & Sendable {
        try await OpenEnvWire.submitTool(tool, arguments) { response, _ in try await submit(response) }
    }

    static func result(_ e: PackEpisode, text: String, step: StepResult?)
        -> OpenEnvWire.Result<OpenEnvWire.PackObservation>
    {
        let observation = OpenEnvWire.PackObservation(
            text: text, pack: e.pack, taskID: e.taskID, episodeID: e.episodeID, turn: step?.turn ?? 0,
            reward: step?.reward, turnRewards: step?.turnRewards ?? [])
        return OpenEnvWire.Result(observation: observation, reward: RewardMarking.reward(step?.reward), done: e.done)
    }
}

/// OpenEnv's coding_env, backed by the sandbox: `{"code"}` runs as a Python program (each step in a fresh
/// sandbox; nothing carries over between steps) and observes `{stdout, stderr, exit_code}`. There is no
/// reward (null): it is a tool, not a task. A sandbox failure of envrun's is an EXECUTION_ERROR.
struct OpenEnvCodingSession: OpenEnvSession {
    let services: AppServices
    private(set) var episodeID = UUID().uuidString
    private(set) var stepCount = 0

    static let route = "/openenv/coding"

    mutating func reset(_ data: OpenEnvWire.ResetData) async throws -> any Encodable & Sendable {
        episodeID = data.episodeID ?? UUID().uuidString
        stepCount = 0
        return OpenEnvWire.Result(observation: OpenEnvWire.CodeObservation(stdout: "", stderr: "", exitCode: 0),
                                  reward: nil, done: false)
    }

    mutating func step(action: Data) async throws -> any Encodable & Sendable {
        try await run(openEnvDecode(OpenEnvWire.CodeAction.self, action).code)
    }

    mutating func run(_ code: String) async throws -> OpenEnvWire.Result<OpenEnvWire.CodeObservation> {
        guard !code.isEmpty else { throw OpenEnvError(.validation, "code must not be empty") }
        let executor = services.executor
        let metrics = services.metrics
        let result = try await services.work(route: Self.route) {
            let result = await executor.run(ExecRequest(language: "python", source: code))
            metrics.recordExec(result)
            return result
        }
        if result.verdict == .sandboxError {
            throw OpenEnvError(.execution, "the sandbox failed to run the code: \(result.detail ?? "unknown")")
        }
        stepCount += 1
        return OpenEnvWire.Result(observation: Self.observation(result), reward: nil, done: false)
    }

    static func observation(_ r: ExecResult) -> OpenEnvWire.CodeObservation {
        var stderr = r.stderr
        if r.verdict != .ok && r.verdict != .runtimeError {
            stderr += (stderr.isEmpty || stderr.hasSuffix("\n") ? "" : "\n") + "envrun: \(r.verdict.rawValue)"
                + (r.detail.map { " (\($0))" } ?? "")
        }
        let exit = r.exitCode.map(Int.init) ?? r.signal.map { 128 + Int($0) } ?? (r.verdict == .ok ? 0 : 1)
        return OpenEnvWire.CodeObservation(stdout: r.stdout, stderr: stderr, exitCode: exit)
    }

    func state() -> any Encodable & Sendable {
        OpenEnvWire.State(episodeID: episodeID, stepCount: stepCount, pack: "coding", taskID: nil, done: false,
                          turnRewards: [])
    }

    static var tools: [JSONRPC.Tool] {
        [JSONRPC.Tool(
            name: "run_code", description: "Run a Python program in envrun's sandbox; returns stdout, stderr, exit_code.",
            inputSchema: .object(["code": .string("the Python program")], required: ["code"]))]
    }

    mutating func call(tool: String, arguments: JSONRPC.Arguments) async throws -> any Encodable & Sendable {
        guard tool == "run_code" else { throw OpenEnvError(.validation, "unknown tool '\(tool)'; tools: run_code") }
        guard let code = arguments.code else { throw OpenEnvError(.validation, "run_code needs arguments.code") }
        let result = try await run(code)
        let o = result.observation
        return JSONRPC.ToolResult(
            content: [.init(text: o.stdout + o.stderr)], structuredContent: o, isError: o.exitCode != 0)
    }
}

/// A pack over OpenEnv's stateless HTTP routes (a fresh environment per request, as OpenEnv's HTTP server
/// has it): reset picks a task and observes its prompt without opening an episode; step and the `submit`
/// tool score `{"response", "task_id"}` as one turn.
struct OpenEnvStatelessPackSession: OpenEnvSession {
    let services: AppServices
    let pack: String

    mutating func reset(_ data: OpenEnvWire.ResetData) async throws -> any Encodable & Sendable {
        let environment = services.environment
        let id = try TaskPicker.taskID(environment, pack: pack, taskID: data.taskID, index: nil, seed: data.seed)
        guard let task = try environment.task(pack: pack, id: id) else { throw EnvrunError(.notFound, "pack \"\(pack)\" has no task \"\(id)\"", field: "task_id") }
        let observation = OpenEnvWire.PackObservation(
            text: task.prompt, pack: pack, taskID: id, episodeID: nil, turn: 0, reward: nil, turnRewards: [])
        return OpenEnvWire.Result(observation: observation, reward: nil, done: false)
    }

    mutating func step(action: Data) async throws -> any Encodable & Sendable {
        try await score(openEnvDecode(OpenEnvWire.PackAction.self, action))
    }

    func score(_ action: OpenEnvWire.PackAction) async throws -> OpenEnvWire.Result<OpenEnvWire.PackObservation> {
        guard let taskID = action.taskID, !taskID.isEmpty else {
            throw OpenEnvError(.validation, "the stateless HTTP step needs action.task_id (or use the WebSocket /ws)")
        }
        let result = try await services.environment.score(ScoreItem(pack: pack, taskID: taskID, response: action.response))
        let text = RewardMarking.failureReason(result).map { "The check could not be made (\($0))." }
            ?? "Scored: reward \(result.reward)."
        let observation = OpenEnvWire.PackObservation(
            text: text, pack: pack, taskID: taskID, episodeID: nil, turn: 1, reward: result,
            turnRewards: RewardMarking.isMasked(result) ? [] : [result.reward])
        return OpenEnvWire.Result(observation: observation, reward: RewardMarking.reward(result), done: true)
    }

    func state() -> any Encodable & Sendable {
        OpenEnvWire.State(episodeID: nil, stepCount: 0, pack: pack, taskID: nil, done: false, turnRewards: [])
    }

    static var tools: [JSONRPC.Tool] { OpenEnvPackSession.tools }

    mutating func call(tool: String, arguments: JSONRPC.Arguments) async throws -> any Encodable & Sendable {
        try await OpenEnvWire.submitTool(tool, arguments) { response, taskID in
            try await score(OpenEnvWire.PackAction(response: response, taskID: taskID))
        }
    }
}
