import EnvrunCore

// Open Reward Standard shapes as the PyPI `openreward` client (0.1.167) sends and parses them. Every
// JSON error is `{"detail": …}` (the FastAPI shape the client reads); listing errors use `message`.

enum ORSWire {
    struct Split: Encodable { var name: String; var type: String }

    /// What a client sees of a task: no answer, no tests. `id` (and `index`) let `/create` find the task
    /// again when a client starts a session from a listed task.
    struct TaskSpecView: Codable, Sendable {
        var id: String
        var index: Int?
        var prompt: String?
        var entryPoint: String?
        var language: String?
        enum CodingKeys: String, CodingKey {
            case id, index, prompt, language
            case entryPoint = "entry_point"
        }
    }

    struct Tasks: Encodable { var tasks: [TaskSpecView]; var envName: String
        enum CodingKeys: String, CodingKey { case tasks; case envName = "env_name" } }
    struct OneTask: Encodable { var task: TaskSpecView; var envName: String
        enum CodingKeys: String, CodingKey { case task; case envName = "env_name" } }
    struct NumTasks: Encodable { var numTasks: Int
        enum CodingKeys: String, CodingKey { case numTasks = "num_tasks" } }

    struct SplitRequest: Decodable { var split: String? }
    struct TaskRequest: Decodable { var split: String?; var index: Int }
    struct RangeRequest: Decodable { var split: String?; var start: Int?; var stop: Int? }

    struct CreateRequest: Decodable {
        var split: String?
        var index: Int?
        var taskSpec: TaskSpecView?
        var envName: String?
        enum CodingKeys: String, CodingKey {
            case split, index
            case taskSpec = "task_spec"
            case envName = "env_name"
        }
    }

    /// Tool specs: exactly `name`, `description`, `input_schema` (the client builds a dataclass from them).
    struct Tool: Encodable {
        var name: String
        var description: String
        var inputSchema: JSONSchema
        enum CodingKeys: String, CodingKey {
            case name, description
            case inputSchema = "input_schema"
        }
    }
    struct Tools: Encodable { var tools: [Tool] }

    struct Block: Encodable, Sendable { var type = "text"; var text: String }

    /// A tool's input: `submit` takes `answer` (a string or a number) or `response`; `run_code` takes `code`.
    struct ToolInput: Decodable, Sendable {
        var answer: String?
        var response: String?
        var code: String?
        enum CodingKeys: String, CodingKey { case answer, response, code }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let s = try? c.decodeIfPresent(String.self, forKey: .answer) { answer = s }
            else if let n = try? c.decodeIfPresent(Double.self, forKey: .answer) {
                answer = n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
            }
            response = try c.decodeIfPresent(String.self, forKey: .response)
            code = try c.decodeIfPresent(String.self, forKey: .code)
        }
        init() {}
    }

    struct CallRequest: Decodable, Sendable {
        var name: String
        var input: ToolInput?
        var taskID: String?
        enum CodingKeys: String, CodingKey {
            case name, input
            case taskID = "task_id"
        }
    }

    /// What a tool call adds besides the reward: envrun's verdict, and the mask flag of a check that
    /// failed on envrun's side (then `reward` is null).
    struct CallMetadata: Encodable, Sendable {
        var status: String?
        var maskSample: Bool
        var failureReason: String?
        var source: String?
        var turn: Int?
        var components: [String: Double]?
        var details: [String: String]?
        var exitCode: Int?
        enum CodingKeys: String, CodingKey {
            case status, source, turn, components, details
            case maskSample = "mask_sample"
            case failureReason = "failure_reason"
            case exitCode = "exit_code"
        }
    }

    struct Output: Encodable, Sendable {
        var blocks: [Block]
        var metadata: CallMetadata?
        var reward: Double?
        var finished: Bool
        func encode(to encoder: any Encoder) throws {
            // All four keys, null included: the client indexes them.
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(blocks, forKey: .blocks)
            try c.encode(metadata, forKey: .metadata)
            try c.encode(reward, forKey: .reward)
            try c.encode(finished, forKey: .finished)
        }
        enum CodingKeys: String, CodingKey { case blocks, metadata, reward, finished }
    }

    /// A tool call's result: `{"ok": true, "output"}` or `{"ok": false, "error", "reason"}` (the session stays usable).
    struct CallResult: Encodable, Sendable {
        var ok: Bool
        var output: Output?
        var error: String?
        var reason: String?

        static func success(_ output: Output) -> CallResult { CallResult(ok: true, output: output) }
        static func failure(_ error: String, reason: String) -> CallResult {
            CallResult(ok: false, error: error, reason: reason)
        }
    }

    struct Detail: Encodable { var detail: String }
    struct Environments: Encodable {
        struct Entry: Encodable { var name: String; var description: String }
        var environments: [Entry]
        var total: Int
    }
}
