import EnvrunCore

// OpenEnv's wire shapes (meta-pytorch/OpenEnv `core/env_server/types.py`, `openenv-core` 0.3.0): WebSocket
// messages `{"type", "data"}` both ways, HTTP `/reset` and `/step`, and JSON-RPC for MCP.

enum OpenEnvWire {
    /// The values an OpenEnv message or body may hold (none of OpenEnv's shapes needs long lists; a message
    /// of millions of small items costs many times its size to decode).
    static let maxValues = 10_000

    /// The message type alone, read first: the data's shape depends on it.
    struct Envelope: Decodable { var type: String? }

    struct ResetData: Decodable, Sendable {
        init() {}
        var seed: Int?
        var episodeID: String?
        var taskID: String?
        enum CodingKeys: String, CodingKey {
            case seed
            case episodeID = "episode_id"
            case taskID = "task_id"
        }
    }
    struct ResetMessage: Decodable { var data: ResetData? }

    /// A pack's action: the response to score. `task_id` is needed only by the stateless HTTP `/step`.
    struct PackAction: Decodable, Sendable {
        var response: String
        var taskID: String?
        enum CodingKeys: String, CodingKey {
            case response
            case taskID = "task_id"
        }
    }
    /// The coding environment's action (OpenEnv coding_env's `CodeAction`).
    struct CodeAction: Decodable, Sendable { var code: String }

    struct StepMessage<Action: Decodable>: Decodable { var data: Action }
    /// HTTP `POST /step`: the action is wrapped, unlike on the WebSocket.
    struct HTTPStep<Action: Decodable>: Decodable { var action: Action }
    struct MCPMessage: Decodable { var data: JSONRPC.Request }

    /// `{"observation", "reward", "done"}`: the reply to reset and step on both transports. A reward is
    /// `null` when there is none (at reset, on the coding environment, and when the check failed on
    /// envrun's side: then `observation.mask_sample` is true).
    struct Result<Observation: Encodable & Sendable>: Encodable, Sendable {
        var observation: Observation
        var reward: Double?
        var done: Bool
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(observation, forKey: .observation)
            try c.encode(reward, forKey: .reward)  // null, not left out
            try c.encode(done, forKey: .done)
        }
        enum CodingKeys: String, CodingKey { case observation, reward, done }
    }

    /// What a pack environment observes.
    struct PackObservation: Encodable, Sendable {
        /// At reset the task's prompt; after a step the feedback (what a multi-turn pack says next).
        var text: String
        var pack: String
        var taskID: String
        /// Nil on the stateless HTTP routes.
        var episodeID: String?
        var turn: Int
        /// Of the last check: `ok`, `error` (envrun's failure: mask the sample) or `not_applicable`.
        var status: String?
        var maskSample: Bool
        var failureReason: String?
        var source: String?
        var components: [String: Double]?
        var details: [String: String]?
        var turnRewards: [Double]

        /// The observation of a check's `reward` (nil: none yet), with its mask flag and reason.
        init(text: String, pack: String, taskID: String, episodeID: String?, turn: Int, reward: RewardResult?,
             turnRewards: [Double]) {
            self.text = text
            self.pack = pack
            self.taskID = taskID
            self.episodeID = episodeID
            self.turn = turn
            status = reward?.status.rawValue
            maskSample = RewardMarking.isMasked(reward)
            failureReason = RewardMarking.failureReason(reward)
            source = reward?.source.rawValue
            components = reward?.components
            details = reward?.details
            self.turnRewards = turnRewards
        }

        enum CodingKeys: String, CodingKey {
            case text, pack, turn, status, source, components, details
            case taskID = "task_id"
            case episodeID = "episode_id"
            case maskSample = "mask_sample"
            case failureReason = "failure_reason"
            case turnRewards = "turn_rewards"
        }
    }

    /// The `submit` tool of a pack, on either transport: checks the call, submits through `submit`
    /// (response, task id), and answers in MCP's tool-result shape (an error result when masked).
    static func submitTool(
        _ tool: String, _ arguments: JSONRPC.Arguments,
        _ submit: (String, String?) async throws -> Result<PackObservation>
    ) async throws -> any Encodable & Sendable {
        guard tool == "submit" else { throw OpenEnvError(.validation, "unknown tool '\(tool)'; tools: submit") }
        guard let response = arguments.submission else {
            throw OpenEnvError(.validation, "submit needs arguments.response")
        }
        let result = try await submit(response, arguments.taskID)
        return JSONRPC.ToolResult(
            content: [.init(text: result.observation.text)], structuredContent: result,
            isError: result.observation.maskSample)
    }

    /// OpenEnv coding_env's `CodeObservation`, exactly (its client's model forbids extra fields).
    struct CodeObservation: Encodable, Sendable {
        var stdout: String
        var stderr: String
        var exitCode: Int
        enum CodingKeys: String, CodingKey {
            case stdout, stderr
            case exitCode = "exit_code"
        }
    }

    struct State: Encodable, Sendable {
        var episodeID: String?
        var stepCount: Int
        var pack: String
        var taskID: String?
        var done: Bool
        var turnRewards: [Double]
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(episodeID, forKey: .episodeID)
            try c.encode(stepCount, forKey: .stepCount)
            try c.encode(pack, forKey: .pack)
            try c.encode(taskID, forKey: .taskID)
            try c.encode(done, forKey: .done)
            try c.encode(turnRewards, forKey: .turnRewards)
        }
        enum CodingKeys: String, CodingKey {
            case pack, done
            case episodeID = "episode_id"
            case stepCount = "step_count"
            case taskID = "task_id"
            case turnRewards = "turn_rewards"
        }
    }

    /// OpenEnv's WebSocket error codes.
    enum ErrorCode: String, Sendable {
        case invalidJSON = "INVALID_JSON"
        case unknownType = "UNKNOWN_TYPE"
        case validation = "VALIDATION_ERROR"
        case execution = "EXECUTION_ERROR"
        case capacity = "CAPACITY_REACHED"
        case factory = "FACTORY_ERROR"
        case session = "SESSION_ERROR"
    }

    struct ErrorData: Encodable, Sendable {
        var message: String
        var code: String
        var retryAfterS: Int?
        var activeSessions: Int?
        var maxSessions: Int?
        enum CodingKeys: String, CodingKey {
            case message, code
            case retryAfterS = "retry_after_s"
            case activeSessions = "active_sessions"
            case maxSessions = "max_sessions"
        }
    }

    /// A server → client WebSocket message.
    struct Outgoing<Data: Encodable & Sendable>: Encodable, Sendable {
        var type: String
        var data: Data
    }

    struct Health: Encodable { var status = "healthy" }

    struct Metadata: Encodable {
        var name: String
        var description: String
        var readmeContent: String?
        var version: String
        var author: String?
        var documentationURL: String?
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(description, forKey: .description)
            try c.encode(readmeContent, forKey: .readmeContent)
            try c.encode(version, forKey: .version)
            try c.encode(author, forKey: .author)
            try c.encode(documentationURL, forKey: .documentationURL)
        }
        enum CodingKeys: String, CodingKey {
            case name, description, version, author
            case readmeContent = "readme_content"
            case documentationURL = "documentation_url"
        }
    }
}
