import EnvrunCore
import EnvrunTesting
import Foundation
import Testing

@testable import EnvrunJudge

/// `grm eval`'s pairwise accuracy and `bench grm`'s rows, against the scripted judge over real HTTP.
@Suite struct PairwiseEvalTests {
    static let fair: ScriptedJudgeServer.Script = { _, seen in
        .text(ScriptedJudgeServer.verdict(seen.responses.map { $0.contains("good") ? 8 : 3 }))
    }

    static func model(_ server: ScriptedJudgeServer) throws -> GenerativeRewardModel {
        var endpoint = JudgeEndpoint(baseURL: server.baseURL, model: "scripted")
        endpoint.backoffSeconds = 0.01
        endpoint.retries = 0
        return GenerativeRewardModel(client: OpenAIChatClient(endpoint: endpoint), template: try JudgeTemplate.load(), cache: nil)
    }

    @Test func rightWrongTiesAndErrorsAreCountedApart() async throws {
        let pairs = [
            PairwiseEval.Pair(prompt: "p1", chosen: "a good one", rejected: "nope"),  // right
            PairwiseEval.Pair(prompt: "p2", chosen: "nope", rejected: "good, but rejected"),  // wrong
            PairwiseEval.Pair(prompt: "p3", chosen: "good", rejected: "also good"),  // tie
            PairwiseEval.Pair(prompt: "FAIL", chosen: "good", rejected: "bad"),  // the judge answers 500
        ]
        let script: ScriptedJudgeServer.Script = { i, seen in
            seen.body.description.contains("FAIL") ? .status(500) : Self.fair(i, seen)
        }
        try await ScriptedJudgeServer.with(script) { server in
            let o = await PairwiseEval.judge(pairs, model: try Self.model(server), settings: GRMSettings(samples: 2))
            #expect(o.pairs == 4 && o.right == 1 && o.wrong == 1 && o.ties == 1 && o.errors == 1)
            #expect(o.accuracy == 1.5 / 3)
        }
        let longer = PairwiseEval.longerWins(pairs)
        #expect(longer.right == 2 && longer.wrong == 2 && longer.ties == 0)
        let scored = PairwiseEval.scored([(1, 0), (0, 1), (2, 2), (.nan, 1)])
        #expect(scored.right == 1 && scored.wrong == 1 && scored.ties == 1 && scored.errors == 1)
    }

    @Test func benchRowsAddUp() async throws {
        var options = GRMBench.Options()
        options.calls = 5
        options.judgeCalls = 2
        options.samples = 2
        try await ScriptedJudgeServer.with(Self.fair) { server in
            var endpoint = JudgeEndpoint(baseURL: server.baseURL, model: "scripted")
            endpoint.retries = 0
            let (rows, failures) = await GRMBench.run(
                options: options, template: try JudgeTemplate.load(), judge: OpenAIChatClient(endpoint: endpoint))
            #expect(failures == 0)
            #expect(rows.map(\.name) == ["envrun, in-process judge", "cache hit", "real judge scripted"])
            for r in rows {
                #expect(r.medianMs > 0 && r.judgeMs >= 0 && r.judgeMs <= r.medianMs + 1e-9, "\(r)")
            }
            #expect(rows[2].judgeMs > 0)  // the HTTP calls were seen
            #expect(server.requests.count == 4)  // 2 scorings × 2 samples
            #expect(GRMBench.render(rows).contains("cache hit / uncached"))
        }
    }

    @Test func judgeTimeIsTheUnionOfCallsInFlight() {
        let t0 = ContinuousClock.now
        func at(_ a: Int, _ b: Int) -> (ContinuousClock.Instant, ContinuousClock.Instant) {
            (t0 + .milliseconds(a), t0 + .milliseconds(b))
        }
        // Overlapping parallel samples count once; a gap is not judge time.
        #expect(GRMBench.Timed.union([at(0, 200), at(50, 250), at(100, 180), at(400, 500)]) == .milliseconds(350))
        #expect(GRMBench.Timed.union([at(300, 400), at(0, 100)]) == .milliseconds(200))
        #expect(GRMBench.Timed.union([]) == .zero)
    }
}

/// `grm sample`: SPCT rejective sampling against the scripted judge.
@Suite struct RejectiveSamplingTests {
    @Test func keepsSamplesThatSingleOutTheBestDropsEasyItemsAndHints() async throws {
        let script: ScriptedJudgeServer.Script = { i, seen in
            let prompt = "\(seen.body["messages"] ?? "")"
            let chosenHigh = seen.responses.map { $0.contains("CHOSEN") ? 9 : 2 }
            if prompt.contains("easy question") { return .text(ScriptedJudgeServer.verdict(chosenHigh)) }
            if prompt.contains("mixed question") {
                return .text(ScriptedJudgeServer.verdict(i % 2 == 0 ? chosenHigh : chosenHigh.map { 11 - $0 }))
            }
            // hard: always prefers the rejected one, unless told which is best
            if let hint = (1...2).first(where: { prompt.contains("Hint: Response \($0) is the best") }) {
                return .text(ScriptedJudgeServer.verdict(seen.responses.indices.map { $0 == hint - 1 ? 9 : 2 }))
            }
            return .text(ScriptedJudgeServer.verdict(chosenHigh.map { 11 - $0 }))
        }
        try await ScriptedJudgeServer.with(script) { server in
            var endpoint = JudgeEndpoint(baseURL: server.baseURL, model: "scripted")
            endpoint.maxConcurrency = 1  // request order = sample order, so "mixed" alternates per sample
            let model = GenerativeRewardModel(
                client: OpenAIChatClient(endpoint: endpoint), template: try JudgeTemplate.load(), cache: nil)
            let items = ["easy question", "mixed question", "hard question"].map {
                RejectiveSampling.Item(query: $0, responses: ["CHOSEN reply", "REJECTED reply"], best: 0)
            }
            let (examples, report) = await RejectiveSampling.run(
                items, model: model, samples: 4, settings: GRMSettings(), hinted: true, concurrency: 1)
            #expect(report.items == 3 && report.tooEasy == 1 && report.hintedItems == 1 && report.failedItems == 0)
            #expect(examples.allSatisfy { $0.item != 0 })  // the easy item is dropped whole
            let mixed = examples.filter { $0.item == 1 }, hard = examples.filter { $0.item == 2 }
            #expect(mixed.count == 2 && mixed.allSatisfy { !$0.hinted })
            #expect(hard.count == 4 && hard.allSatisfy(\.hinted) && report.hintedExamples == 4)
            #expect(report.rejectedSamples == 2 + 4)  // mixed's wrong half, hard's unhinted four
            #expect(report.examples == examples.count)
            for e in examples {
                // The example is the prompt as shown: the chosen reply sits where best_shown says and scores top.
                let user = e.messages.last!.content
                let chosenFirst = user.range(of: "CHOSEN")!.lowerBound < user.range(of: "REJECTED")!.lowerBound
                #expect(chosenFirst == (e.bestShown == 1))
                #expect(e.scores[e.bestShown - 1] == e.scores.max() && e.completion.contains("\\boxed{"))
                #expect(user.contains("Hint: Response") == e.hinted)
            }
        }
    }
}
