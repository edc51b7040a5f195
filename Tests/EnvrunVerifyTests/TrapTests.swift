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
        // Found by a red-team pass over the issue-21 readings (each was accepted before its fix):
        // a power after a number is an exponent, not a unit;
        Case("2", "\\boxed{2^{2}}", false), Case("10", "$10^{3}$", false), Case("4", "$2+2^{2}$", false),
        Case("0.5", "\\boxed{0.5^{2}}", false),
        // the last math environment is not the answer when a number follows it, or when it is negated;
        Case("18", "We have $a = 18$. Then subtracting 2 gives 16.", false),
        Case("18", "She makes $9 \\times 2 = 18$ dollars per day. After the $2 fee, she keeps $16.", false),
        Case("12", "The value cannot be $12$.", false), Case("12", "Clearly $x$ is not $12$.", false),
        Case("12", "It is not $12$ but 13.", false),
        Case("2", "$x = 2$ is extraneous, so there is no solution $x$", false),
        // environments joined by "or"/"and" are one list, not the last one;
        Case("5", "$x = 3$ or $x = 5$", false), Case("5", "The roots are $x=3$ and $x = 5$", false),
        // a hedged or negated prose answer states no value;
        Case("21", "Final Answer: I cannot determine whether $k$ is 21", false),
        Case("21", "Final Answer: it is not known if k is 21", false),
        Case("21", "Final Answer: the value is $21$ or $22$", false),
        // a label is compared as a label: never scaled, never cancelled, never renamed;
        Case("f(1) = 2", "$f(2) = 4$", false), Case("f(2) = 9", "$f(6) = 27$", false),
        Case("\\frac{PM}{MQ}=\\frac{1}{\\sqrt3}", "$\\frac{PN}{NQ}=\\frac{1}{\\sqrt3}$", false),
        Case("\\angle ABC = 60^\\circ", "$\\angle XYZ = 60^\\circ$", false),
        Case("A^TA = \\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "$AA^T = \\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}$", false),
        // assignments against bare values keep their order;
        Case("a = 3, b = 1", "$1, 3$", false), Case("x=3, y=7", "\\boxed{7} \\boxed{3}", false),
        // rounding reads only the response's decimals, with their written places.
        Case("100.5", "\\frac{2011}{20}", false), Case("\\pi", "3.14160", false),
        Case("100000000001", "100000000000.9", false),
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
