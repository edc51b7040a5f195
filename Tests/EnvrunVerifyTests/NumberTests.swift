import Testing
@testable import EnvrunVerify

/// Scalars: each category has cases that must match and cases that must not.
@Suite("numbers and expressions")
struct NumberTests {
    static let numbers: [Case] = [
        Case("1000", "1,000", true), Case("1234567", "1{,}234{,}567", true), Case("10000", "10\\,000", true),
        Case("-5", "−5", true), Case("0.5", ".5", true), Case("2.50", "2.5", true), Case("1.5e3", "1500", true),
        Case("3", "3.0", true), Case("007", "7", true), Case("10,\\!080", "10080", true),
        Case("11,\\! 111,\\! 111,\\! 100", "11111111100", true), Case("\\$32,\\!348", "32,348", true),
        Case("1000", "100", false), Case("1,001", "1001.5", false), Case("10,\\!080", "10, 80", false), Case("-5", "5", false), Case("2.5", "25", false),
    ]
    static let fractions: [Case] = [
        Case("\\frac{1}{2}", "0.5", true), Case("\\dfrac{3}{4}", "3/4", true), Case("\\tfrac34", "\\frac{6}{8}", true),
        Case("\\frac12", "1/2", true), Case("2\\frac{1}{2}", "\\frac52", true), Case("-\\frac{1}{3}", "\\frac{-1}{3}", true),
        Case("\\frac{\\frac{1}{2}}{3}", "1/6", true), Case("0.\\overline{3}", "\\frac13", true),
        Case("\\frac{1}{2}", "\\frac{1}{3}", false), Case("2\\frac{1}{2}", "1", false), Case("\\frac{3}{4}", "\\frac{4}{3}", false),
        Case("\\frac13", "0.333", false), Case("-\\frac{1}{3}", "\\frac{1}{3}", false),
    ]
    static let rootsPowers: [Case] = [
        Case("\\sqrt{8}", "2\\sqrt{2}", true), Case("\\sqrt{2}/2", "\\frac{1}{\\sqrt{2}}", true),
        Case("\\sqrt[3]{27}", "3", true), Case("5", "√25", true), Case("\\binom{5}{2}", "{5 \\choose 2}", true),
        Case("2^{10}", "1024", true), Case("x^{1/2}", "\\sqrt{x}", true),
        Case("4^{-1}", "0.25", true), Case("2^{2005}", "2\\cdot 2^{2004}", true), Case("\\sqrt{12}", "2\\sqrt3", true), Case("8^{2/3}", "4", true),
        Case("\\sqrt{8}", "3\\sqrt{2}", false), Case("2^{2005}", "2^{2005}+1", false), Case("2^{10}", "1000", false), Case("\\sqrt[3]{27}", "9", false),
        Case("\\sqrt{2}\\cdot 5", "√25", false),
        Case("\\sqrt{2}", "1.415", false), Case("\\sqrt{2}", "1.414", true), Case("x^2", "2x", false),
    ]
    static let constants: [Case] = [
        Case("2\\pi", "2π", true), Case("\\pi r^2", "r^2\\pi", true), Case("e^2", "e\\cdot e", true),
        Case("\\frac{\\pi}{2}", "pi/2", true), Case("1-\\frac1e", "\\frac{e-1}{e}", true),
        Case("2\\pi", "6.28", false), Case("\\pi", "3.14159", true), Case("\\pi", "3.14158", false),
        Case("1-\\frac1e", "1+\\frac1e", false), Case("e", "2.718281828", true), Case("e", "2.71828182", false),
    ]
    static let trigLog: [Case] = [
        Case("\\sin^2 x + \\cos^2 x", "1", true), Case("\\frac{\\sqrt3}{2}", "\\sin\\frac{\\pi}{3}", true),
        Case("\\log_2 8", "3", true), Case("\\ln(e^3)", "3", true), Case("2\\sin x\\cos x", "\\sin(2x)", true),
        Case("\\tan\\theta", "\\frac{\\sin\\theta}{\\cos\\theta}", true), Case("\\log_4 2", "\\frac12", true),
        Case("\\arcsin x", "\\sin^{-1}(x)", true), Case("\\cos 60^\\circ", "\\frac12", true), Case("\\sin(30°)", "0.5", true), Case("\\tan 45^{\\circ}", "1", true),
        Case("\\sin x", "\\cos x", false), Case("\\log_2 8", "4", false), Case("\\ln 2", "\\log_2 e", false),
        Case("\\sin(2x)", "2\\sin x", false), Case("\\arcsin x", "\\arccos x", false), Case("\\cos 60^\\circ", "\\cos 60", false),
    ]
    static let spacing: [Case] = [
        Case("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\pi/2)", true), Case("3\\!\\cdot\\!4", "12", true),
        Case("1\\,000\\,000", "10^6", true), Case("x~+~1", "1+x", true), Case("\\displaystyle\\frac{1}{2}", "\\frac 1 2", true),
        Case("$5$", "5", true), Case("\\left[ 1, 2 \\right]", "[1,2]", true),
        Case("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi)", false), Case("3\\!\\cdot\\!4", "34", false),
    ]
    static let percentDegreesUnits: [Case] = [
        Case("50\\%", "50", true), Case("50\\%", "0.5", true), Case("30^\\circ", "30", true),
        Case("30^{\\circ}", "30°", true), Case("5\\text{ cm}", "5", true), Case("15\\mbox{ cm}^2", "15", true),
        Case("\\$18.50", "18.5", true), Case("18", "18 dollars", true), Case("864 \\mbox{ inches}^2", "864", true),
        Case("50\\%", "5", false), Case("30^\\circ", "60", false), Case("5\\text{ cm}", "6", false),
        Case("\\$18.50", "18.05", false),
    ]
    static let plusMinus: [Case] = [
        Case("\\pm 2", "2, -2", true), Case("1 \\pm \\sqrt{2}", "1-\\sqrt2, 1+\\sqrt2", true),
        Case("\\frac{-1\\pm\\sqrt5}{2}", "\\frac{-1+\\sqrt5}{2},\\frac{-1-\\sqrt5}{2}", true), Case("\\pm 3", "±3", true),
        Case("\\pm 2021", "2021", false), Case("1 \\pm \\sqrt{2}", "1+\\sqrt{2}", false), Case("\\pm 2", "2, 3", false),
    ]
    static let infinity: [Case] = [
        Case("\\infty", "∞", true), Case("-\\infty", "-inf", true), Case("(-\\infty, 3)", "(-oo, 3)", true),
        Case("\\infty", "-\\infty", false), Case("\\infty", "10^{100}", false), Case("(-\\infty, 3)", "(-\\infty, 3]", false),
    ]
    static let complex: [Case] = [
        Case("3+4i", "4i+3", true), Case("i^2", "-1", true), Case("\\frac{1}{i}", "-i", true),
        Case("(1+i)^2", "2i", true), Case("\\sqrt{-4}", "2i", true), Case("|3+4i|", "5", true),
        Case("3+4i", "3-4i", false), Case("i", "1", false), Case("(1+i)^2", "2", false),
    ]

    @Test("numbers", arguments: numbers) func number(c: Case) { expectCase(c) }
    @Test("fractions", arguments: fractions) func fraction(c: Case) { expectCase(c) }
    @Test("roots and powers", arguments: rootsPowers) func rootPower(c: Case) { expectCase(c) }
    @Test("constants", arguments: constants) func constant(c: Case) { expectCase(c) }
    @Test("trig and log", arguments: trigLog) func trig(c: Case) { expectCase(c) }
    @Test("spacing", arguments: spacing) func space(c: Case) { expectCase(c) }
    @Test("percent, degrees, units", arguments: percentDegreesUnits) func units(c: Case) { expectCase(c) }
    @Test("plus-minus", arguments: plusMinus) func pm(c: Case) { expectCase(c) }
    @Test("infinity", arguments: infinity) func inf(c: Case) { expectCase(c) }
    @Test("complex numbers", arguments: complex) func complexNumbers(c: Case) { expectCase(c) }

    @Test func toleranceOptionAcceptsCloseDecimals() {
        var o = VerifyOptions()
        o.floatTolerance = 1e-2
        expectCase(Case("\\frac13", "0.333", true), options: o)
        expectCase(Case("\\pi", "3.1416", true), options: o)
        expectCase(Case("\\frac13", "0.4", false), options: o)
    }

    @Test func readingsThatStayRight() {
        expectCase(Case("120", "$5!=120$", true))  // a factorial, then `=`
        expectCase(Case("x \\neq 2", "$x != 2$", true))
        expectCase(Case("12", "\\boxed{12 \\text{ cm}^2}", true))
        expectCase(Case("3, 5", "$x = 3$ or $x = 5$", true))
        expectCase(Case("f(2) = 9", "$f(2) = 9$", true))
        expectCase(Case("a = 3, b = 1", "$3, 1$", true))
    }

    @Test func renameVariablesOption() {
        expectCase(Case("g(s)", "g(t)", false))
        var o = VerifyOptions()
        o.renameVariables = true
        expectCase(Case("g(s)", "g(t)", true), options: o)
        expectCase(Case("s^2 + 1", "t^2 + 1", true), options: o)
        expectCase(Case("s^2 + 1", "t^2 + 2", false), options: o)
        expectCase(Case("x + y", "x + z + w", false), options: o)
    }

    @Test func roundedDecimalsOption() {
        expectCase(Case("\\frac23", "0.6667", true))
        expectCase(Case("\\frac17", "0.1428571428571428", true))  // a float printout, cut within its last place
        expectCase(Case("\\frac17", "0.1428571428571482", false))
        expectCase(Case("(\\frac25, \\frac53]", "(0.4, 1.6667]", true))
        var strict = VerifyOptions()
        strict.roundedDecimals = nil
        expectCase(Case("\\frac23", "0.6667", false), options: strict)
        var loose = VerifyOptions()
        loose.roundedDecimals = 2
        expectCase(Case("\\frac23", "0.67", true), options: loose)
    }
}
