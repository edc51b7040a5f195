import EnvrunCore
import Foundation
import Synchronization

/// SPCT's rejective fine-tuning data (DeepSeek-GRM): for each item (a query, its responses and the labelled
/// best), draw N judge samples; keep a sample only when its scores single out the labelled best; drop items
/// all N samples get right (too easy to teach anything). With `hinted`, an item no sample got right is drawn
/// again with the judge told which response is best, and those samples (kept under the same rule) are marked.
/// Each kept sample is a training example: the judge prompt exactly as shown, and the judge's text.
public enum RejectiveSampling {
    public struct Item: Sendable, Equatable {
        public var query: String
        public var responses: [String]
        /// Input index of the labelled best response.
        public var best: Int
        public init(query: String, responses: [String], best: Int) {
            self.query = query
            self.responses = responses
            self.best = best
        }
    }

    public struct Example: Sendable, Equatable, Codable {
        public var item: Int
        public var messages: [ChatMessage]
        public var completion: String
        /// Scores in the order shown.
        public var scores: [Int]
        /// Where the labelled best response was shown (1-based).
        public var bestShown: Int
        public var hinted: Bool

        enum CodingKeys: String, CodingKey {
            case item, messages, completion, scores, hinted
            case bestShown = "best_shown"
        }
    }

    public struct Report: Sendable, Equatable, Codable {
        public var items = 0
        public var examples = 0
        /// Items every sample got right: dropped.
        public var tooEasy = 0
        /// Samples whose scores did not single out the best (or did not parse): dropped.
        public var rejectedSamples = 0
        /// Items drawn again with a hint, and the examples those gave.
        public var hintedItems = 0
        public var hintedExamples = 0
        /// Items the judge could not score at all (every sample failed).
        public var failedItems = 0
        public init() {}

        enum CodingKeys: String, CodingKey {
            case items, examples
            case tooEasy = "too_easy"
            case rejectedSamples = "rejected_samples"
            case hintedItems = "hinted_items"
            case hintedExamples = "hinted_examples"
            case failedItems = "failed_items"
        }
    }

    public static func run(
        _ items: [Item], model: GenerativeRewardModel, samples: Int, settings base: GRMSettings, hinted: Bool,
        concurrency: Int = 4, progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async -> (examples: [Example], report: Report) {
        let done = Mutex(0)
        let perItem = await boundedMap(Array(items.enumerated()), limit: concurrency, cancelled: { _ in ItemOutcome() }) {
            pair in
            let (index, item) = pair
            var settings = base
            settings.samples = samples
            settings.seed = base.seed &+ UInt64(index) &* 1_000_003
            settings.minValid = 1  // every sample is looked at, one by one
            var outcome = ItemOutcome()
            let drawn = await judge(model, item, index: index, settings: settings, hinted: false)
            outcome.add(drawn)
            if drawn.right == samples {
                outcome.examples = []
                outcome.tooEasy = true
            } else if hinted, drawn.right == 0 {
                settings.hintBest = item.best
                let again = await judge(model, item, index: index, settings: settings, hinted: true)
                outcome.hinted = true
                outcome.add(again)
            }
            let n = done.withLock { $0 += 1; return $0 }
            progress(n, items.count)
            return outcome
        }
        var report = Report()
        report.items = items.count
        var examples: [Example] = []
        for o in perItem {
            examples += o.examples
            report.rejectedSamples += o.rejected
            if o.tooEasy { report.tooEasy += 1 }
            if o.failed { report.failedItems += 1 }
            if o.hinted {
                report.hintedItems += 1
                report.hintedExamples += o.examples.filter(\.hinted).count
            }
        }
        report.examples = examples.count
        return (examples, report)
    }

    struct ItemOutcome: Sendable {
        var examples: [Example] = []
        var rejected = 0
        var tooEasy = false
        var hinted = false
        var failed = false

        mutating func add(_ d: Drawn) {
            examples += d.kept
            rejected += d.rejected
            failed = failed || d.failed
        }
    }

    struct Drawn: Sendable {
        var kept: [Example] = []
        var right = 0
        var rejected = 0
        var failed = false
    }

    static func judge(_ model: GenerativeRewardModel, _ item: Item, index: Int, settings: GRMSettings, hinted: Bool) async
        -> Drawn
    {
        let result = await model.score(query: item.query, responses: item.responses, settings: settings)
        var d = Drawn()
        d.failed = result.samples.allSatisfy { $0.scores == nil }
        for s in result.samples {
            guard let scores = s.scores, singlesOut(scores, item.best) else {
                d.rejected += 1
                continue
            }
            d.right += 1
            let shownScores = s.order.map { scores[$0] }
            let messages = GenerativeRewardModel.withHint(
                model.template.messages(query: item.query, responses: s.order.map { item.responses[$0] }),
                best: settings.hintBest, order: s.order)
            d.kept.append(Example(
                item: index, messages: messages, completion: s.text, scores: shownScores,
                bestShown: (s.order.firstIndex(of: item.best) ?? 0) + 1, hinted: hinted))
        }
        return d
    }

    /// The labelled best alone has the highest score.
    static func singlesOut(_ scores: [Int], _ best: Int) -> Bool {
        guard best < scores.count, let top = scores.max() else { return false }
        return scores[best] == top && scores.filter { $0 == top }.count == 1
    }
}
