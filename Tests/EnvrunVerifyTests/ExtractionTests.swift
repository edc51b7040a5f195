import Testing
@testable import EnvrunVerify

@Suite("extraction")
struct ExtractionTests {
    static let found: [(String, String)] = [
        ("So the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("First \\boxed{3}, then corrected: \\boxed{4}", "4"),
        ("\\boxed{\\left\\{ 1, \\frac{a}{\\sqrt{b}} \\right\\}}", "\\left\\{ 1, \\frac{a}{\\sqrt{b}} \\right\\}"),
        ("The result is \\fbox{17} indeed", "17"),
        ("so $\\boxed 5$ is it", "5"),
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18"),
        ("We compute things.\n#### 1,234\n", "1,234"),
        ("Thus, the answer is $x^2+1$.", "x^2+1"),
        ("Final Answer: The final answer is $72$. I hope it is correct.", "72"),
        ("Therefore the answer is (B).", "(B)"),
        ("Final answer: 3.5", "3.5"),
        ("-7", "-7"), ("**42**", "42"), ("The answer is **42**.", "42"), ("**Final Answer:** 42", "42"),
        ("The correct answer is **(B)**.", "(B)"), ("So the final answer is \\(7\\).", "7"), ("The answer is x**2", "x**2"),
        ("I computed 3 + 4 = 7 and then doubled it to get 14 apples in total, which is the end of it.", "14"),
    ]

    @Test("finds the answer", arguments: found)
    func finds(response: String, answer: String) {
        #expect(MathVerifier().extractAnswer(from: response) == answer)
    }

    static let notFound = [
        "I am not sure how to solve this problem, so I will stop here without giving anything further at all.",
        "",
        "\\boxed{unclosed and nothing else to see in this very long response that goes on and on and on ..",
    ]

    @Test("reports no answer", arguments: notFound)
    func noAnswer(response: String) {
        #expect(MathVerifier().extractAnswer(from: response) == nil)
        let r = MathVerifier().verify(gold: "3", pred: response)
        #expect(r.status == .unparseable)
        #expect(!r.equivalent)
    }

    @Test func lastNumberFallbackCanBeTurnedOff() {
        var o = VerifyOptions()
        let text = "After a long computation we find that the total number of apples is 42 and we are done here."
        #expect(MathVerifier(options: o).extractAnswer(from: text) == "42")
        o.lastNumberFallback = false
        #expect(MathVerifier(options: o).extractAnswer(from: text) == nil)
    }

    @Test func allBoxesOption() {
        var o = VerifyOptions()
        o.allBoxes = true
        let r = MathVerifier(options: o).verify(gold: "2, 3", pred: "roots \\boxed{3} and \\boxed{2}")
        #expect(r.equivalent)
        // By default the boxes count together when the gold has as many items.
        let together = MathVerifier().verify(gold: "2, 3", pred: "roots \\boxed{3} and \\boxed{2}")
        #expect(together.equivalent)
        let one = MathVerifier().verify(gold: "2", pred: "roots \\boxed{3} and \\boxed{2}")
        #expect(one.equivalent, "a single gold is the last box")
        let first = MathVerifier().verify(gold: "3", pred: "roots \\boxed{3} and \\boxed{2}")
        #expect(!first.equivalent, "an answer before the last box does not count")
    }

    @Test func goldMayBeAWholeSolution() {
        let r = MathVerifier().verify(gold: "so we get $\\boxed{\\dfrac{3}{4}}$.", pred: "0.75")
        #expect(r.equivalent && r.status == .ok)
    }

    static let choices: [Case] = [
        Case("\\text{(C)}", "The answer is (C).", true),
        Case("\\text{(C)}", "C", true),
        Case("C", "\\boxed{\\textbf{(C)}}", true),
        Case("\\text{(C)}", "The answer is (D).", false),
        Case("B", "A", false),
    ]

    @Test("multiple-choice letters", arguments: choices)
    func multipleChoice(c: Case) { expectCase(c) }
}
