// The contract between task packs, the server and the RL driver: one Environment interface.

/// One task of a pack, as stored in its JSONL (snake_case on the wire).
/// Fields a verifier does not need stay nil.
public struct TaskSpec: Codable, Sendable, Equatable {
    public var id: String
    public var prompt: String
    /// Gold answer for `math`, `exact` and `regex` rewards.
    public var answer: String?
    /// Assert-style tests (HumanEval/MBPP) for `code_tests`.
    public var tests: String?
    public var entryPoint: String?
    /// Code that must run before the tests (MBPP's test_setup_code, imports).
    public var testSetup: String?
    /// stdin/stdout cases for `code_io`.
    public var ioCases: [IOCase]?
    /// A reference solution (used by `envrun pack validate`).
    public var reference: String?
    /// Language of code tasks (a language id of `Sandbox/languages`), default python.
    public var language: String?
    /// Free metadata: difficulty, source index, preference context...
    public var metadata: [String: String]?
    /// Overrides the pack's route for this task: `rule`, `scalar_rm`, `generative_rm` or `hybrid`.
    public var route: String?

    public init(
        id: String, prompt: String, answer: String? = nil, tests: String? = nil, entryPoint: String? = nil,
        testSetup: String? = nil, ioCases: [IOCase]? = nil, reference: String? = nil, language: String? = nil,
        metadata: [String: String]? = nil, route: String? = nil
    ) {
        self.id = id
        self.prompt = prompt
        self.answer = answer
        self.tests = tests
        self.entryPoint = entryPoint
        self.testSetup = testSetup
        self.ioCases = ioCases
        self.reference = reference
        self.language = language
        self.metadata = metadata
        self.route = route
    }

    enum CodingKeys: String, CodingKey {
        case id, prompt, answer, tests, reference, language, metadata, route
        case entryPoint = "entry_point"
        case testSetup = "test_setup"
        case ioCases = "io_cases"
    }
}

/// What a pack is, as listed by `GET /v1/packs` and `envrun pack list`.
public struct PackInfo: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var description: String
    public var license: String
    /// The reward spec's verifier: math, code_tests, code_io, exact, regex, scalar_rm, generative_rm, hybrid.
    public var verifier: String
    public var taskCount: Int
    public var multiTurn: Bool

    public init(name: String, version: String, description: String, license: String, verifier: String,
                taskCount: Int, multiTurn: Bool = false) {
        self.name = name
        self.version = version
        self.description = description
        self.license = license
        self.verifier = verifier
        self.taskCount = taskCount
        self.multiTurn = multiTurn
    }

    enum CodingKeys: String, CodingKey {
        case name, version, description, license, verifier
        case taskCount = "task_count"
        case multiTurn = "multi_turn"
    }
}

/// One response to score: against a task of a pack (by id), or against an inline task.
public struct ScoreItem: Codable, Sendable, Equatable {
    public var pack: String
    public var taskID: String?
    public var task: TaskSpec?
    public var response: String

    public init(pack: String, taskID: String? = nil, task: TaskSpec? = nil, response: String) {
        self.pack = pack
        self.taskID = taskID
        self.task = task
        self.response = response
    }

    enum CodingKeys: String, CodingKey {
        case pack, task, response
        case taskID = "task_id"
    }
}

/// Observation after reset or a step of a multi-turn episode.
public struct StepResult: Codable, Sendable, Equatable {
    public var episodeID: String
    public var observation: String
    public var reward: RewardResult?
    public var done: Bool
    public var turn: Int
    /// Rewards of every turn so far.
    public var turnRewards: [Double]

    public init(episodeID: String, observation: String, reward: RewardResult? = nil, done: Bool, turn: Int,
                turnRewards: [Double] = []) {
        self.episodeID = episodeID
        self.observation = observation
        self.reward = reward
        self.done = done
        self.turn = turn
        self.turnRewards = turnRewards
    }

    enum CodingKeys: String, CodingKey {
        case observation, reward, done, turn
        case episodeID = "episode_id"
        case turnRewards = "turn_rewards"
    }
}

/// The one interface the server and the RL driver use. Errors are `EnvrunError` with code
/// `notFound` (unknown pack, task or episode) or `invalidInput`; a failed *check* is not an error but a
/// `RewardResult` with status `error`.
public protocol Environment: Sendable {
    func packs() -> [PackInfo]
    func tasks(pack: String, offset: Int, limit: Int) throws -> [TaskSpec]
    /// One task by id, rendered as `tasks` renders it; nil when the pack has no such task.
    func task(pack: String, id: String) throws -> TaskSpec?
    func score(_ item: ScoreItem) async throws -> RewardResult
    /// Starts a multi-turn episode; the observation is the task's prompt.
    func reset(pack: String, taskID: String) async throws -> StepResult
    /// The same on behalf of `client`, so an environment can keep a quota of open episodes per client
    /// (one client opening many evicts only its own). The default ignores the client.
    func reset(pack: String, taskID: String, client: ClientKey) async throws -> StepResult
    func step(episodeID: String, action: String) async throws -> StepResult
    /// Forgets an episode its owner is done with (a protocol session that resets or ends); unknown ids
    /// are ignored. The default does nothing (episodes then age out).
    func close(episodeID: String) async
}

/// An environment that scores a whole batch at once, so a reward model sees the batch together; each
/// item still gets its own result or error. The server's `BatchScorer` and the RL driver use it when the environment offers it.
public protocol BatchScoring: Sendable {
    func score(batch items: [ScoreItem]) async -> [Result<RewardResult, EnvrunError>]
}

extension Environment {
    /// Pages through `tasks` (environments with an index answer directly).
    public func task(pack: String, id: String) throws -> TaskSpec? {
        var offset = 0
        while true {
            let page = try tasks(pack: pack, offset: offset, limit: 500)
            if page.isEmpty { return nil }
            if let found = page.first(where: { $0.id == id }) { return found }
            offset += page.count
        }
    }

    public func reset(pack: String, taskID: String, client: ClientKey) async throws -> StepResult {
        try await reset(pack: pack, taskID: taskID)
    }

    public func close(episodeID: String) async {}
}

/// Who is asking, for per-client quotas: an opaque key the server derives from the request (a hash of
/// the bearer token and the peer address). It never holds a secret, so it may be logged.
public struct ClientKey: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The key of callers that cannot be told apart (no peer address, in-process callers).
    public static let shared = ClientKey("shared")
    public var description: String { rawValue }
}
