import EnvrunCore
import Foundation

/// How a step-by-step solution is cut into steps.
public enum StepSplit: String, Codable, Sendable, CaseIterable {
    /// Paragraphs: runs of non-blank lines separated by blank lines.
    case blankLines = "blank_lines"
    /// Lines that start with "Step N:" (also "Step N." / "Step N)", optionally after "#", "*" or "-") open a new
    /// step; text before the first marker belongs to the first step. Without markers: falls back to blank lines.
    case stepMarkers = "step_markers"
    /// Every non-blank line is a step.
    case lines

    /// The end index of each step, so that `text[..<end]` is the prefix
    /// up to and including that step, exactly as written.
    public func stepEnds(_ text: String) -> [String.Index] {
        var lines: [(range: Range<String.Index>, blank: Bool)] = []
        var start = text.startIndex
        while start < text.endIndex {
            let end = text[start...].firstIndex(of: "\n") ?? text.endIndex
            let line = text[start..<end]
            lines.append((start..<end, line.allSatisfy { $0.isWhitespace }))
            start = end < text.endIndex ? text.index(after: end) : end
        }
        switch self {
        case .lines:
            return lines.filter { !$0.blank }.map(\.range.upperBound)
        case .blankLines:
            var ends: [String.Index] = []
            var open: String.Index?
            for l in lines {
                if l.blank {
                    if let o = open { ends.append(o) }
                    open = nil
                } else {
                    open = l.range.upperBound
                }
            }
            if let o = open { ends.append(o) }
            return ends
        case .stepMarkers:
            let markers = lines.indices.filter { Self.isMarker(text[lines[$0].range]) }
            guard !markers.isEmpty else { return StepSplit.blankLines.stepEnds(text) }
            var ends: [String.Index] = []
            let boundaries = Array(markers.dropFirst()) + [lines.count]
            for b in boundaries {
                // the step ends at the last non-blank line before the next marker (or the end)
                if let last = lines[..<b].lastIndex(where: { !$0.blank }) { ends.append(lines[last].range.upperBound) }
            }
            return ends
        }
    }

    static func isMarker(_ line: Substring) -> Bool {
        var s = line.drop { $0 == " " || $0 == "\t" || $0 == "#" || $0 == "*" || $0 == "-" || $0 == ">" }
        guard s.lowercased().hasPrefix("step") else { return false }
        s = s.dropFirst(4).drop { $0 == " " }
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { return false }
        s = s.dropFirst(digits.count).drop { $0 == " " || $0 == "*" }
        return s.first == ":" || s.first == "." || s.first == ")"
    }
}

/// How per-step scores become one reward.
public enum StepAggregation: String, Codable, Sendable, CaseIterable {
    /// Product of per-step probabilities: PRM800K's convention (the solution is right only if every step is).
    case product
    case min
    case last

    public func aggregate(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        switch self {
        case .product: return xs.reduce(1, *)
        case .min: return xs.min()!
        case .last: return xs.last!
        }
    }
}

/// Process reward: scores every step prefix of a solution with a scalar RM and aggregates.
public struct ProcessRewardScorer: Sendable {
    public enum Transform: String, Codable, Sendable {
        /// The RM returns logits (the local head): per-step value σ(score).
        case sigmoid
        /// The RM already returns probabilities (e.g. vLLM /classify).
        case identity
    }

    public let model: any ScalarRewardModel
    public var split: StepSplit
    public var aggregation: StepAggregation
    public var transform: Transform
    /// Solutions with more steps than this get an error result (bounds the RM calls per solution).
    public var maxSteps: Int

    public init(
        model: any ScalarRewardModel, split: StepSplit = .stepMarkers, aggregation: StepAggregation = .product,
        transform: Transform = .sigmoid, maxSteps: Int = 64
    ) {
        self.model = model
        self.split = split
        self.aggregation = aggregation
        self.transform = transform
        self.maxSteps = maxSteps
    }

    /// The prefixes `steps[0...i]` of `solution`, exactly as written.
    public func prefixes(_ solution: String) -> [String] {
        split.stepEnds(solution).map { String(solution[..<$0]) }
    }

    /// One RM call scoring all prefixes. A model failure is a `RewardResult` with status `error`, not a throw.
    public func score(prompt: String, solution: String) async -> RewardResult {
        let steps = prefixes(solution)
        if steps.isEmpty {
            return RewardResult(reward: 0, source: .scalarRM, stepRewards: [], details: ["steps": "0", "model": model.name])
        }
        if steps.count > maxSteps {
            return .error("solution has \(steps.count) steps, more than the limit of \(maxSteps)", source: .scalarRM)
        }
        let raw: [Double]
        do { raw = try await model.scores(prompts: Array(repeating: prompt, count: steps.count), responses: steps) } catch {
            return .error("\(error)", source: .scalarRM)
        }
        let values = raw.map { transform == .sigmoid ? 1 / (1 + exp(-$0)) : $0 }
        return RewardResult(
            reward: aggregation.aggregate(values), source: .scalarRM, components: ["steps": Double(values.count)],
            stepRewards: values,
            details: ["model": model.name, "aggregation": aggregation.rawValue, "split": split.rawValue])
    }
}
