import EnvrunCore
import EnvrunRM
import Foundation
import Synchronization

/// Pairwise accuracy of a generative RM on preference pairs: each pair's two responses are judged together
/// (in a shuffled order per sample), and the judge is right when the labelled better one gets the higher
/// vote. Ties and errors are counted apart, never as right or wrong.
public enum PairwiseEval {
    /// A preference pair: `EnvrunRM`'s, as `rm train` reads them.
    public typealias Pair = PreferencePair

    public struct Outcome: Sendable, Equatable, Codable {
        public var pairs = 0
        public var right = 0
        public var wrong = 0
        public var ties = 0
        public var errors = 0
        /// right / (pairs − errors), ties counting half (the convention of RewardBench-style reports).
        public var accuracy: Double {
            let scored = pairs - errors
            return scored == 0 ? 0 : (Double(right) + 0.5 * Double(ties)) / Double(scored)
        }
        public init() {}

        /// One line of a report table: the name padded to `width`, the accuracy and the counts.
        public func line(_ name: String, width: Int = 14, right: String = "right", wrong: String = "wrong") -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: " %.4f  (\(right) %d, \(wrong) %d, ties %d, errors %d)", accuracy, self.right, self.wrong,
                         ties, errors)
        }

        enum CodingKeys: String, CodingKey { case pairs, right, wrong, ties, errors, accuracy }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(pairs, forKey: .pairs)
            try c.encode(right, forKey: .right)
            try c.encode(wrong, forKey: .wrong)
            try c.encode(ties, forKey: .ties)
            try c.encode(errors, forKey: .errors)
            try c.encode(accuracy, forKey: .accuracy)
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            pairs = try c.decode(Int.self, forKey: .pairs)
            right = try c.decode(Int.self, forKey: .right)
            wrong = try c.decode(Int.self, forKey: .wrong)
            ties = try c.decode(Int.self, forKey: .ties)
            errors = try c.decode(Int.self, forKey: .errors)
        }
    }

    /// Judges every pair, `concurrency` at a time; `progress(done, total)` after each.
    public static func judge(
        _ pairs: [Pair], model: GenerativeRewardModel, settings: GRMSettings, concurrency: Int = 4,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async -> Outcome {
        tally(await verdicts(pairs, model: model, settings: settings, concurrency: concurrency, progress: progress))
    }

    /// What the judge said of each pair: `.right` (it prefers `chosen`), `.wrong`, `.tie` or `.error`.
    public static func verdicts(
        _ pairs: [Pair], model: GenerativeRewardModel, settings: GRMSettings, concurrency: Int = 4,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async -> [Verdict] {
        let done = Counter()
        return await boundedMap(pairs, limit: concurrency, cancelled: { _ in Verdict.error }) { pair in
            let result = await model.score(query: pair.prompt, responses: [pair.chosen, pair.rejected], settings: settings)
            progress(done.next(), pairs.count)
            guard result.status == .ok, result.votes.count == 2 else { return Verdict.error }
            if result.votes[0] == result.votes[1] { return .tie }
            return result.votes[0] > result.votes[1] ? .right : .wrong
        }
    }

    /// The "longer response wins" baseline (the verbosity bias a judge must beat).
    public static func longerWins(_ pairs: [Pair]) -> Outcome {
        tally(pairs.map { p in
            p.chosen.count == p.rejected.count ? .tie : (p.chosen.count > p.rejected.count ? .right : .wrong)
        })
    }

    /// Accuracy of any scorer that gives each response a number (a scalar RM).
    public static func scored(_ scores: [(chosen: Double, rejected: Double)]) -> Outcome {
        tally(scores.map { s in
            guard s.chosen.isFinite, s.rejected.isFinite else { return .error }
            return s.chosen == s.rejected ? .tie : (s.chosen > s.rejected ? .right : .wrong)
        })
    }

    public enum Verdict: Sendable, Equatable { case right, wrong, tie, error }

    public static func tally(_ verdicts: [Verdict]) -> Outcome {
        var o = Outcome()
        o.pairs = verdicts.count
        for v in verdicts {
            switch v {
            case .right: o.right += 1
            case .wrong: o.wrong += 1
            case .tie: o.ties += 1
            case .error: o.errors += 1
            }
        }
        return o
    }

    final class Counter: Sendable {
        let value = Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
    }
}
