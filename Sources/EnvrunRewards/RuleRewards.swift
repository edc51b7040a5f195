import EnvrunCore
import EnvrunVerify
import Foundation

/// `math`: the response's answer is mathematically equivalent to the gold answer (`EnvrunVerify`).
public struct MathReward: Rewarder {
    public var options: VerifyOptions
    let check: MathCheck
    public var steps: MathStepRule?

    public init(options: VerifyOptions, check: @escaping MathCheck, steps: MathStepRule? = nil) {
        self.options = options
        self.check = check
        self.steps = steps
    }

    /// The `digits` step rule: the last run of digits in the response against the gold integer, aligned
    /// at the units place. nil when the gold is not an integer or the response has no digits.
    public static func digitSteps(gold: String, response: String) -> [Double]? {
        var g = gold.trimmingCharacters(in: .whitespaces)
        if g.hasPrefix("-") || g.hasPrefix("+") { g.removeFirst() }
        guard !g.isEmpty, g.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let bytes = Array(response.utf8)
        guard var end = bytes.lastIndex(where: { $0 >= 48 && $0 <= 57 }) else { return nil }
        end += 1
        var start = end - 1
        while start > 0, bytes[start - 1] >= 48, bytes[start - 1] <= 57 { start -= 1 }
        let digits = Array(bytes[start..<end]), goldDigits = Array(g.utf8)
        return digits.enumerated().map { i, d in
            let place = digits.count - 1 - i
            let gd = place < goldDigits.count ? goldDigits[goldDigits.count - 1 - place] : 48
            return d == gd ? 1 : 0
        }
    }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        guard let gold = task.answer else {
            return RewardResult(reward: 0, status: .notApplicable, details: ["reason": "task has no gold answer"])
        }
        let result = check(gold, response, options)
        var details: [String: String] = [:]
        details["extracted_answer"] = result.predParsed
        // No `gold_parsed`: details reach the policy on every surface, and after a wrong answer the gold would
        // let it score any later episode of the same task (`envrun verify` still shows it).
        details["message"] = result.message
        switch result.status {
        case .ok:
            details["verdict"] = result.equivalent ? "correct" : "wrong"
            let reward = result.equivalent ? 1.0 : 0.0
            return RewardResult(reward: reward, components: ["correct": reward], stepRewards: stepRewards(gold, response), details: details)
        case .unparseable:
            // The response holds no readable answer: the model's fault, a 0 reward.
            details["verdict"] = "no_answer"
            return RewardResult(reward: 0, components: ["correct": 0], stepRewards: stepRewards(gold, response), details: details)
        case .undecided:
            // The answer was read but does not evaluate, or spends the work budget: the response's doing, a 0.
            details["verdict"] = "undecided"
            return RewardResult(reward: 0, components: ["correct": 0], stepRewards: stepRewards(gold, response), details: details)
        case .error:
            // The gold does not parse: the pack's fault, not the model's.
            details["verdict"] = "check_failed"
            details["error"] = result.message ?? "the math verifier failed"
            return RewardResult(reward: 0, status: .error, details: details)
        }
    }

    func stepRewards(_ gold: String, _ response: String) -> [Double]? {
        guard steps == .digits else { return nil }
        return Self.digitSteps(gold: gold, response: response)
    }

}

/// `exact`: the extracted final answer equals the gold answer after normalising whitespace, a trailing
/// full stop and (unless `case_sensitive`) case.
public struct ExactReward: Rewarder {
    public var settings: ExactSettings
    public init(settings: ExactSettings) { self.settings = settings }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        guard let gold = task.answer else {
            return RewardResult(reward: 0, status: .notApplicable, details: ["reason": "task has no gold answer"])
        }
        guard let answer = AnswerExtraction.finalAnswer(response) else {
            return RewardResult(reward: 0, components: ["correct": 0], details: ["verdict": "no_answer"])
        }
        let equal = normalise(answer) == normalise(gold)
        return RewardResult(
            reward: equal ? 1 : 0, components: ["correct": equal ? 1 : 0],
            details: ["verdict": equal ? "correct" : "wrong", "extracted_answer": answer])
    }

    func normalise(_ s: String) -> String {
        var t = s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        if t.hasSuffix(".") { t.removeLast() }
        return settings.caseSensitive ? t : t.lowercased()
    }
}

/// `regex`: the response (or, with `full_match`, the whole extracted final answer) matches a pattern.
public struct RegexReward: Rewarder {
    public var settings: RegexSettings
    public init(settings: RegexSettings) { self.settings = settings }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        let pattern: String
        if let p = settings.pattern {
            pattern = p.replacingOccurrences(
                of: "{{answer}}", with: NSRegularExpression.escapedPattern(for: task.answer ?? ""))
        } else if let answer = task.answer {
            pattern = answer
        } else {
            return RewardResult(
                reward: 0, status: .notApplicable, details: ["reason": "no pattern: task has no answer"])
        }
        let regex: NSRegularExpression
        do {
            regex = try NSRegularExpression(pattern: settings.fullMatch ? "^(?:\(pattern))$" : pattern)
        } catch {
            return .error("invalid regular expression: \(pattern)")
        }
        let target = settings.fullMatch ? (AnswerExtraction.finalAnswer(response) ?? "") : response
        let range = NSRange(target.startIndex..<target.endIndex, in: target)
        let matched = regex.firstMatch(in: target, range: range) != nil
        var details = ["verdict": matched ? "match" : "no_match", "pattern": pattern]
        if settings.fullMatch { details["extracted_answer"] = target }
        return RewardResult(reward: matched ? 1 : 0, components: ["match": matched ? 1 : 0], details: details)
    }
}
