import EnvrunCore
import Foundation

/// Best-of-N and rejection sampling with a pack's reward source (`envrun rank`): N responses per prompt
/// in, the best one (inference-time selection) or every one at or above a threshold (SFT data) out,
/// with the spread of the rewards per prompt. A response whose check failed is left out of the choice
/// and counted, never ranked as a 0.
public struct Ranker: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case best, filter }

    public struct Input: Sendable, Decodable {
        public var id: String?
        public var pack: String
        public var taskID: String?
        public var task: TaskSpec?
        public var responses: [String]
        enum CodingKeys: String, CodingKey {
            case id, pack, task, responses
            case taskID = "task_id"
        }
    }

    public let env: any Environment
    public var mode: Mode
    public var threshold: Double
    public var concurrency: Int

    public init(environment: any Environment, mode: Mode = .best, threshold: Double = 0.5, concurrency: Int = 8) {
        env = environment
        self.mode = mode
        self.threshold = threshold
        self.concurrency = concurrency
    }

    /// Parses one input line; a malformed line is an error naming what is wrong.
    public static func parse(_ line: String) throws -> Input {
        let input: Input
        do { input = try JSONDecoder().decode(Input.self, from: Data(line.utf8)) } catch {
            throw EnvrunError(.invalidInput, "not a rank line: want {\"pack\", \"task_id\" or \"task\", \"responses\": [...]} (\(error))")
        }
        guard input.taskID != nil || input.task != nil else { throw EnvrunError(.invalidInput, "a rank line needs task_id or task", field: "task_id") }
        guard !input.responses.isEmpty else { throw EnvrunError(.invalidInput, "responses is empty", field: "responses") }
        return input
    }

    /// The output lines for one prompt (one in `best` mode, one per kept response in `filter` mode; a
    /// prompt whose every check failed gives one line with status error).
    public func rank(_ input: Input) async -> [[String: Any]] {
        let items = input.responses.map { ScoreItem(pack: input.pack, taskID: input.taskID, task: input.task, response: $0) }
        let results = await scoreAll(env, items, limit: concurrency)
        let ok = results.indices.filter { results[$0].status == .ok }
        let rewards = ok.map { results[$0].reward }
        var base: [String: Any] = ["pack": input.pack, "n": input.responses.count, "scored": ok.count,
                                   "errors": input.responses.count - ok.count]
        if let id = input.id { base["id"] = id }
        if let t = input.taskID ?? input.task?.id { base["task_id"] = t }
        guard !ok.isEmpty else {
            base["status"] = "error"
            base["error"] = results.first?.details["error"] ?? "every check failed"
            return [base]
        }
        let (m, sd) = meanAndUnbiasedStd(rewards)
        base["status"] = "ok"
        base["spread"] = (rewards.max()! - rewards.min()!)
        base["mean"] = m
        base["std"] = sd
        base["source"] = results[ok[0]].source.rawValue
        switch mode {
        case .best:
            // Ties go to the earliest response: deterministic, and N samples are usually already random.
            let best = ok.max { results[$0].reward < results[$1].reward || (results[$0].reward == results[$1].reward && $0 > $1) }!
            var line = base
            line["best_index"] = best
            line["response"] = input.responses[best]
            line["reward"] = results[best].reward
            line["rewards"] = results.map { $0.status == .ok ? $0.reward as Any : NSNull() }
            return [line]
        case .filter:
            return ok.filter { results[$0].reward >= threshold }.map { i in
                var line = base
                line["index"] = i
                line["response"] = input.responses[i]
                line["reward"] = results[i].reward
                return line
            }
        }
    }
}
