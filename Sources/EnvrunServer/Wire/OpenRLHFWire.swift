import EnvrunCore
import Foundation

/// OpenRLHF's remote reward request: `{"query": [prompt+response, …], "prompts": [...], "labels": [...]}`.
/// `prompts` and `labels` are optional (older OpenRLHF sends only `query`).
public struct GetRewardRequest: Codable, Sendable, Equatable {
    public var query: [String]
    public var prompts: [String]?
    public var labels: [Label?]?

    public init(query: [String], prompts: [String]? = nil, labels: [Label?]? = nil) {
        self.query = query
        self.prompts = prompts
        self.labels = labels
    }

    /// A label is a string ("gsm8k/17", a JSON object in a string, or a bare gold answer) or an object
    /// `{"pack": …, "task_id": …}` / `{"pack": …, "answer": …}`.
    public enum Label: Codable, Sendable, Equatable {
        case text(String)
        case reference(Reference)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else if let number = try? container.decode(Double.self) {
                // A numeric gold answer, e.g. 42 or 0.5, as it appears in many datasets.
                self = .text(number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number))
            } else {
                self = .reference(try container.decode(Reference.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .reference(let reference): try container.encode(reference)
            }
        }
    }

    public struct Reference: Codable, Sendable, Equatable {
        public var pack: String
        public var taskID: String?
        public var answer: String?
        public init(pack: String, taskID: String? = nil, answer: String? = nil) {
            self.pack = pack
            self.taskID = taskID
            self.answer = answer
        }
        enum CodingKeys: String, CodingKey {
            case pack, answer
            case taskID = "task_id"
        }
    }
}

/// OpenRLHF's expected answer: `rewards` drive advantages, `scores` dynamic filtering, `extra_logs` are
/// per-sample series logged to wandb.
public struct GetRewardResponse: Codable, Sendable, Equatable {
    public var rewards: [Double]
    public var scores: [Double]
    public var extraLogs: [String: [Double]]

    enum CodingKeys: String, CodingKey {
        case rewards, scores
        case extraLogs = "extra_logs"
    }
}

/// Turns OpenRLHF samples into `ScoreItem`s.
enum OpenRLHFMapping {
    static func items(_ r: GetRewardRequest, knownPacks: Set<String>, configuration: ServerConfiguration) throws
        -> [ScoreItem]
    {
        let n = r.query.count
        if n == 0 { throw APIError.invalid("query must not be empty", field: "query") }
        if n > configuration.maxBatchItems {
            throw APIError.invalid("at most \(configuration.maxBatchItems) queries per request", field: "query")
        }
        if let p = r.prompts, p.count != n {
            throw APIError.invalid("prompts has \(p.count) entries but query has \(n)", field: "prompts")
        }
        if let l = r.labels, l.count != n {
            throw APIError.invalid("labels has \(l.count) entries but query has \(n)", field: "labels")
        }
        return try (0..<n).map { i in
            let prompt = r.prompts?[i] ?? ""
            let query = r.query[i]
            // OpenRLHF sends prompt + response; score only the response.
            let response = !prompt.isEmpty && query.hasPrefix(prompt) ? String(query.dropFirst(prompt.count)) : query
            return try item(label: r.labels?[i] ?? nil, index: i, prompt: prompt, response: response,
                            knownPacks: knownPacks, configuration: configuration)
        }
    }

    static func item(label: GetRewardRequest.Label?, index: Int, prompt: String, response: String,
                     knownPacks: Set<String>, configuration: ServerConfiguration) throws -> ScoreItem
    {
        switch label {
        case nil:
            return ScoreItem(pack: configuration.unlabeledPack, task: TaskSpec(id: "inline-\(index)", prompt: prompt),
                             response: response)
        case .reference(let ref):
            return try reference(ref, index: index, prompt: prompt, response: response)
        case .text(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("{"), let data = trimmed.data(using: .utf8),
               let ref = try? JSONDecoder().decode(GetRewardRequest.Reference.self, from: data)
            {
                return try reference(ref, index: index, prompt: prompt, response: response)
            }
            if let slash = trimmed.firstIndex(of: "/"), knownPacks.contains(String(trimmed[..<slash])) {
                let taskID = String(trimmed[trimmed.index(after: slash)...])
                if taskID.isEmpty { throw APIError.invalid("label names a pack but no task id", field: "labels[\(index)]") }
                return ScoreItem(pack: String(trimmed[..<slash]), taskID: taskID, response: response)
            }
            // A bare gold answer: checked by the math pack's verifier.
            return ScoreItem(pack: configuration.mathPack,
                             task: TaskSpec(id: "inline-\(index)", prompt: prompt, answer: text), response: response)
        }
    }

    static func reference(_ ref: GetRewardRequest.Reference, index: Int, prompt: String, response: String) throws
        -> ScoreItem
    {
        if let taskID = ref.taskID { return ScoreItem(pack: ref.pack, taskID: taskID, response: response) }
        if let answer = ref.answer {
            return ScoreItem(pack: ref.pack, task: TaskSpec(id: "inline-\(index)", prompt: prompt, answer: answer),
                             response: response)
        }
        throw APIError.invalid("a label object needs task_id or answer", field: "labels[\(index)].task_id")
    }

    static func response(_ results: [RewardResult]) -> GetRewardResponse {
        let rewards = results.map { $0.status == .ok ? $0.reward : 0 }
        return GetRewardResponse(
            rewards: rewards,
            scores: rewards.map { min(1, max(0, $0)) },
            extraLogs: [
                "envrun_ok": results.map { $0.status == .ok ? 1 : 0 },
                "envrun_error": results.map { $0.status == .error ? 1 : 0 },
            ])
    }
}
