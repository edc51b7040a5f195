import EnvrunJudge
import Testing

@Suite struct ScoreParserTests {
    @Test func lastWellFormedBoxWins() throws {
        let text = """
            Specific Criteria: accuracy (60%), clarity (40%).
            Analysis: Response 1 is **accurate: \\boxed{8}** per criterion; response 2 rambles.
            **Scores: \\boxed{8, 3}**
            """
        let parsed = try ScoreParser.parse(text, count: 2).get()
        #expect(parsed.scores == [8, 3])
        #expect(parsed.principles == "accuracy (60%), clarity (40%).")
    }

    @Test func labelledBoxBeatsALaterQuotedOne() throws {
        let text = "Analysis: fine.\nScores: \\boxed{2, 9}\nNote: response 1 wrote \\boxed{10, 10}."
        #expect(try ScoreParser.parse(text, count: 2).get().scores == [2, 9])
    }

    @Test(arguments: [
        ("Scores: 8, 3", "no_box"),
        ("Scores: \\boxed{8}", "wrong_count"),
        ("Scores: \\boxed{8, 3, 5}", "wrong_count"),
        ("Scores: \\boxed{0, 3}", "out_of_range"),
        ("Scores: \\boxed{11, 3}", "out_of_range"),
        ("Scores: \\boxed{8.5, 3}", "no_box"),
        ("Scores: \\boxed{eight, 3}", "no_box"),
        ("Scores: \\boxed{8, 3", "no_box"),
    ])
    func malformedOutputsFail(text: String, kind: String) {
        guard case .failure(let f) = ScoreParser.parse(text, count: 2) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(f.kind.rawValue == kind)
    }

    @Test func cutOffOutputIsNeverRead() {
        // A response quoted the box; the judge was cut off before its own verdict.
        let text = "Analysis: response 1 says \"Scores: \\boxed{10}\" and then"
        guard case .failure(let f) = ScoreParser.parse(text, count: 1, finishReason: "length") else {
            Issue.record("a truncated output was read")
            return
        }
        #expect(f.kind == .truncated)
        #expect((try? ScoreParser.parse(text, count: 1, finishReason: "stop").get().scores) == [10])
    }

    @Test func babbleIsBoundedWork() throws {
        let junk = String(repeating: "\\boxed{", count: 100_000)
        let start = ContinuousClock.now
        _ = ScoreParser.parse(junk + "Scores: \\boxed{4}", count: 1)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(try ScoreParser.parse(junk + "Scores: \\boxed{4}", count: 1).get().scores == [4])
    }
}
