import Testing
@testable import EnvrunVerify

/// Known ways a checker gets fooled. None of these may come out equivalent.
@Suite("traps")
struct TrapTests {
    static let traps: [Case] = [
        Case("\\pm 2021", "2021", false),
        Case("2021", "\\pm 2021", false),
        Case("\\frac{1}{2004!}", "\\frac{1}{2006!}", false),
        Case("1-\\frac{1}{e}", "1+\\frac{1}{e}", false),
        Case("x = 3", "y = 3", false),
        Case("y = x + 1", "y = x - 1", false),
        Case("(0, 1)", "[0, 1]", false),
        Case("(0, 1]", "[0, 1)", false),
        Case("\\frac{1}{3}", "0.333", false),
        // A decimal counts only as the gold correctly rounded, with 4+ significant digits (`roundedDecimals`):
        // `0.3333333333` for 1/3 is right since issue 21, but a cut-off or rough one is not.
        Case("\\frac{1}{3}", "0.33", false),
        Case("\\frac{2}{3}", "0.6666", false),
        Case("\\pi", "3.14", false),
        Case("\\frac{22}{7}", "3.142", false),
        Case("10^{-20}", "0", false),
        Case("\\frac{\\pi}{10^{15}}", "\\frac{\\pi}{10^{16}}", false),
        Case("2^{100}", "2^{100} + 1", false),
        Case("\\sqrt{2}", "\\frac{99}{70}", false),
        Case("\\{1, 2\\}", "\\{1, 2, 2, 3\\}", false),
        Case("x^2 - 1", "(x-1)(x+2)", false),
        Case("\\frac{x}{x}", "2", false),
        Case("3", "3x", false),
        Case("1", "\\text{1 or 2}", false),
        Case("12", "The answer is 12 or 13", false),
        // Several boxes count together only as the whole set: one more or one less is wrong.
        Case("3, 7", "\\boxed{3}, \\boxed{7}, \\boxed{11}", false),
        Case("3, 7, 11", "\\boxed{3}, \\boxed{7}", false),
        Case("3", "\\boxed{3} or maybe \\boxed{5}", false),
        // A worked chain whose steps disagree states no value; units never rescue a wrong value.
        Case("4", "$2 + 2 = 5 = 4$", false),
        Case("12", "\\boxed{13\\text{ cm}}", false),
        // `1,000` is one thousand, not a decimal comma.
        Case("1", "\\boxed{1,000}", false),
        // A renamed argument must not capture another name.
        Case("f(x) = x + t", "f(t) = t + t", false),
    ]

    @Test("no false positive", arguments: traps)
    func trap(c: Case) {
        let r = verify(c)
        #expect(!r.equivalent, "gold \(r.goldParsed ?? "-") pred \(r.predParsed ?? "-")")
    }

    /// A status other than ok never comes with `equivalent`, and is distinct from "not equivalent".
    @Test func statusIsDistinctFromNotEquivalent() {
        let garbage = MathVerifier().verify(gold: "3", pred: "\\frac{")
        #expect(garbage.status == .unparseable && !garbage.equivalent)
        let huge = MathVerifier().verify(gold: "3", pred: "10^{10^{10}}")
        // A prediction that spends the work budget is undecided: the response's doing, never `error`.
        #expect(huge.status == .undecided && !huge.equivalent)
        let prose = MathVerifier().verify(gold: "42", pred: "The total is 42.")
        #expect(prose.status != .error && prose.status != .ok || prose.equivalent, "\(prose)")
        let wrong = MathVerifier().verify(gold: "3", pred: "4")
        #expect(wrong.status == .ok && !wrong.equivalent)
    }
}
