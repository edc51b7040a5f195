import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

/// A scalar RM for tests: the score of a response is a fixed value per number of "bad" words in it.
struct KeywordRM: ScalarRewardModel {
    var name = "keyword"
    func scores(prompts: [String], responses: [String]) async throws -> [Double] {
        responses.map { r in r.contains("WRONG") ? -2.0 : 2.0 + Double(r.count) / 1000 }
    }
}

struct FailingRM: ScalarRewardModel {
    var name = "failing"
    func scores(prompts: [String], responses: [String]) async throws -> [Double] {
        throw EnvrunError(.unavailable, "down")
    }
}

@Suite struct ProcessRewardTests {
    static let solution = """
        Let x be the number of apples.

        Step 1: Write the equation 2x + 3 = 11.
        It follows from the statement.

        Step 2: Subtract 3: 2x = 8.
        ## Step 3. Divide by 2: x = 4.

        The answer is 4.
        """

    @Test func splitsOnStepMarkers() {
        let scorer = ProcessRewardScorer(model: KeywordRM(), split: .stepMarkers)
        let p = scorer.prefixes(Self.solution)
        #expect(p.count == 3)
        #expect(p[0].hasSuffix("It follows from the statement."))
        #expect(p[0].hasPrefix("Let x be"))  // the preamble belongs to the first step
        #expect(p[1].hasSuffix("2x = 8."))
        #expect(p[2] == Self.solution)
        for (a, b) in zip(p, p.dropFirst()) { #expect(b.hasPrefix(a)) }
    }

    @Test func splitsOnBlankLinesAndLines() {
        let blank = ProcessRewardScorer(model: KeywordRM(), split: .blankLines).prefixes(Self.solution)
        #expect(blank.count == 4)
        #expect(blank[0] == "Let x be the number of apples.")
        #expect(blank[3] == Self.solution)
        let lines = ProcessRewardScorer(model: KeywordRM(), split: .lines).prefixes(Self.solution)
        #expect(lines.count == 6)
        #expect(lines[2].hasSuffix("It follows from the statement."))
        // without markers, step_markers falls back to blank lines
        #expect(ProcessRewardScorer(model: KeywordRM(), split: .stepMarkers).prefixes("a\n\nb").count == 2)
        #expect(ProcessRewardScorer(model: KeywordRM(), split: .lines).prefixes("\n \n").isEmpty)
    }

    @Test func markerRecognition() {
        #expect(StepSplit.isMarker("Step 1: x"))
        #expect(StepSplit.isMarker("  **Step 12.** y"))
        #expect(StepSplit.isMarker("### step 3) z"))
        #expect(!StepSplit.isMarker("Steps are hard: 1"))
        #expect(!StepSplit.isMarker("Step one: x"))
        #expect(!StepSplit.isMarker("In step 2: x"))
    }

    @Test func aggregations() {
        let xs = [0.9, 0.5, 0.8]
        #expect(abs(StepAggregation.product.aggregate(xs) - 0.36) < 1e-12)
        #expect(StepAggregation.min.aggregate(xs) == 0.5)
        #expect(StepAggregation.last.aggregate(xs) == 0.8)
        #expect(StepAggregation.product.aggregate([]) == 0)
    }

    @Test(arguments: StepAggregation.allCases)
    func scoresEveryPrefix(aggregation: StepAggregation) async {
        let bad = Self.solution.replacingOccurrences(of: "2x = 8.", with: "2x = 8. WRONG")
        let scorer = ProcessRewardScorer(model: KeywordRM(), split: .stepMarkers, aggregation: aggregation)
        let good = await scorer.score(prompt: "q", solution: Self.solution)
        let wrong = await scorer.score(prompt: "q", solution: bad)
        #expect(good.status == .ok && good.source == .scalarRM)
        #expect(good.stepRewards?.count == 3)
        #expect(wrong.stepRewards?.count == 3)
        // the error at step 2 stays in every later prefix
        #expect(wrong.stepRewards![0] > 0.8)
        #expect(wrong.stepRewards![1] < 0.2 && wrong.stepRewards![2] < 0.2)
        #expect(wrong.reward < good.reward)
        let expected = aggregation.aggregate(good.stepRewards!)
        #expect(abs(good.reward - expected) < 1e-12)
    }

    @Test func identityTransformAndFailures() async {
        let scorer = ProcessRewardScorer(model: KeywordRM(), split: .lines, transform: .identity)
        let r = await scorer.score(prompt: "q", solution: "a\nb")
        #expect(r.stepRewards!.allSatisfy { $0 > 2 })
        let empty = await scorer.score(prompt: "q", solution: "  ")
        #expect(empty.status == .ok && empty.reward == 0 && empty.stepRewards == [])
        let failing = await ProcessRewardScorer(model: FailingRM()).score(prompt: "q", solution: "x")
        #expect(failing.status == .error)
        #expect(failing.details["error"]?.contains("down") == true)
        var limited = ProcessRewardScorer(model: KeywordRM(), split: .lines)
        limited.maxSteps = 2
        #expect(await limited.score(prompt: "q", solution: "a\nb\nc").status == .error)
    }
}
