import Testing
@testable import EnvrunVerify

/// Structured answers: order matters for tuples and intervals, not for sets; open/closed matters.
@Suite("structures")
struct StructureTests {
    static let intervals: [Case] = [
        Case("[1, 2)", "\\left[1,2\\right)", true), Case("(-\\infty, 0) \\cup (1, \\infty)", "(1,\\infty)\\cup(-\\infty,0)", true),
        Case("(2, 5]", "(2, 5]", true), Case("(-\\infty, \\infty)", "\\mathbb{R}", true), Case("[0, \\frac12]", "[0, 0.5]", true), Case("x \\in [2, 3]", "[2,3]", true),
        Case("[1, 2)", "(1, 2)", false), Case("[0, \\infty)", "\\mathbb{R}", false), Case("[1, 2)", "[1, 2]", false), Case("(2, 5]", "(5, 2]", false),
        Case("(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty, 0) \\cup [1, \\infty)", false), Case("[0,1]", "[0,2]", false),
    ]
    static let sets: [Case] = [
        Case("\\{1, 2, 3\\}", "\\{3, 1, 2\\}", true), Case("1, 2", "2, 1", true), Case("\\{-2, 2\\}", "\\pm 2", true),
        Case("3, 5", "x = 3 \\text{ or } x = 5", true), Case("\\emptyset", "\\{\\}", true), Case("\\{1\\}", "1", true),
        Case("\\{1, 2, 3\\}", "\\{1, 2\\}", false), Case("1, 2", "1, 3", false), Case("\\{1,2\\}", "(1,2)", false),
        Case("\\emptyset", "0", false),
    ]
    static let tuples: [Case] = [
        Case("(1, 2)", "(1,2)", true), Case("(3, \\frac{\\pi}{2})", "\\left(3,\\frac{\\pi}2\\right)", true),
        Case("(0, -1, 2)", "(0,-1,2)", true), Case("(x, y) = (1, 2)", "(1, 2)", true), Case("(2,3)", "(2.0, 3)", true),
        Case("(1, 2)", "(2, 1)", false), Case("(0, -1, 2)", "(0, 1, 2)", false), Case("(1, 2)", "(1, 2, 3)", false),
    ]
    static let matrices: [Case] = [
        Case("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", true),
        Case("\\begin{pmatrix} 1/2 \\\\ 0 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ 0 \\end{pmatrix}", true),
        Case("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1, 2)", true),
        Case("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", false),
        Case("\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\\\ 3 \\end{pmatrix}", false),
    ]
    static let equations: [Case] = [
        Case("x = 3", "3", true), Case("3", "x=3", true), Case("y = 2x+1", "2x+1 = y", true), Case("y = 2x + 1", "2x+1", true),
        Case("2x + 3y = 6", "y = 2 - \\frac{2}{3}x", true), Case("x^2 + y^2 = 4", "y^2 = 4 - x^2", true),
        Case("x = 3", "x = 4", false), Case("y = 2x+1", "y = 2x-1", false), Case("x + y = 1", "x - y = 1", false),
        Case("x^2 = 4", "x = 2", false), Case("y = 2x + 1", "x = 2y + 1", false),
    ]
    static let inequalities: [Case] = [
        Case("x > 3", "3 < x", true), Case("x \\ge 2", "(2x \\geq 4)", true), Case("x > 3", "(3, \\infty)", true),
        Case("1 < x \\le 2", "(1, 2]", true), Case("x \\le -1", "(-\\infty, -1]", true),
        Case("|x| < 3", "(-3, 3)", true), Case("|x - 1| \\le 2", "[-1, 3]", true),
        Case("|x| > 3", "(-\\infty, -3) \\cup (3, \\infty)", true),
        Case("x > 3", "x \\ge 3", false), Case("x > 3", "x < 3", false), Case("x > 3", "[3, \\infty)", false),
        Case("1 < x \\le 2", "[1, 2]", false), Case("|x| < 3", "(-3, 3]", false), Case("|x - 1| < 2", "(-2, 2)", false),
    ]
    static let bases: [Case] = [
        Case("1011_2", "1011_2", true), Case("1011_2", "1011", true), Case("123_{4}", "123_4", true), Case("2A_{16}", "2a_{16}", true),
        Case("1011_2", "1101_2", false), Case("1011_2", "11", false), Case("123_4", "123_5", false),
    ]
    static let texts: [Case] = [
        Case("\\text{Sunday}", "Sunday", true), Case("\\text{(A)}", "A", true), Case("\\text{Devon}", "devon", true),
        Case("\\text{odd}", "\\textbf{odd}", true), Case("\\text{A,D}", "D, A", true),
        Case("\\text{1:03 PM}", "1:03 PM", true), Case("3:1", "6:2", true),
        Case("\\text{Sunday}", "Monday", false), Case("\\text{A,D}", "A", false), Case("3:1", "1:3", false), Case("\\text{even}", "odd", false), Case("\\text{(A)}", "(B)", false),
    ]

    @Test("intervals and unions", arguments: intervals) func interval(c: Case) { expectCase(c) }
    @Test("sets", arguments: sets) func set(c: Case) { expectCase(c) }
    @Test("tuples and points", arguments: tuples) func tuple(c: Case) { expectCase(c) }
    @Test("matrices", arguments: matrices) func matrix(c: Case) { expectCase(c) }
    @Test("equations", arguments: equations) func equation(c: Case) { expectCase(c) }
    @Test("inequalities", arguments: inequalities) func inequality(c: Case) { expectCase(c) }
    @Test("base subscripts", arguments: bases) func base(c: Case) { expectCase(c) }
    @Test("text answers", arguments: texts) func text(c: Case) { expectCase(c) }
}
