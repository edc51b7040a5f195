/// The small expression tree every answer is parsed into.
indirect enum Expr: Hashable, Sendable {
    /// An exact number; `decimal` marks a literal written with a decimal point (an approximation, perhaps).
    case number(Rational, decimal: Bool)
    case variable(String)
    case constant(Constant)
    case sum([Expr])
    case product([Expr])
    case quotient(Expr, Expr)
    case power(Expr, Expr)
    case negate(Expr)
    case function(Function, [Expr])
    /// `a ± b` (or `±b` when `a` is nil): the set {a+b, a-b}.
    case plusMinus(Expr?, Expr)
    case percent(Expr)
    /// Digits written with a base subscript, e.g. `1011_2`.
    case based(digits: String, base: Int)
    case tuple([Expr])
    case interval(Expr, Expr, leftClosed: Bool, rightClosed: Bool)
    case set([Expr])
    case union([Expr])
    case matrix([[Expr]])
    /// A chain `a op b op c …` (operands.count == ops.count + 1).
    case relation([Expr], [Relation])
    case text(String)

    enum Constant: String, Hashable, Sendable { case pi, e, i, infinity }
    enum Relation: String, Hashable, Sendable {
        case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
        var flipped: Relation {
            switch self {
            case .eq, .ne: return self
            case .lt: return .gt
            case .le: return .ge
            case .gt: return .lt
            case .ge: return .le
            }
        }
    }
    enum Function: String, Hashable, Sendable {
        case sqrt, root, sin, cos, tan, cot, sec, csc, asin, acos, atan, sinh, cosh, tanh
        case ln, log, exp, abs, factorial, floor, ceil, binom
    }

    static func int(_ n: Int) -> Expr { .number(Rational(n), decimal: false) }

    /// Is this a single scalar (not a structure, relation or text)?
    var isScalar: Bool {
        switch self {
        case .tuple, .interval, .set, .union, .matrix, .relation, .text, .plusMinus: return false
        default: return true
        }
    }

    var containsDecimal: Bool {
        var found = false
        visit { if case .number(_, let d) = $0, d { found = true } }
        return found
    }

    var freeVariables: Set<String> {
        var vars = Set<String>()
        visit { if case .variable(let v) = $0 { vars.insert(v) } }
        return vars
    }

    func visit(_ f: (Expr) -> Void) {
        f(self)
        for c in children { c.visit(f) }
    }

    var children: [Expr] {
        switch self {
        case .number, .variable, .constant, .based, .text: return []
        case .sum(let xs), .product(let xs), .tuple(let xs), .set(let xs), .union(let xs): return xs
        case .function(_, let xs): return xs
        case .relation(let xs, _): return xs
        case .quotient(let a, let b), .power(let a, let b): return [a, b]
        case .interval(let a, let b, _, _): return [a, b]
        case .negate(let a), .percent(let a): return [a]
        case .plusMinus(let a, let b): return (a.map { [$0] } ?? []) + [b]
        case .matrix(let rows): return rows.flatMap { $0 }
        }
    }
}

extension Expr: CustomStringConvertible {
    /// A compact, sympy-like rendering used for `gold_parsed` / `pred_parsed`.
    var description: String {
        func wrap(_ e: Expr) -> String {
            switch e {
            case .sum, .negate, .quotient, .product, .plusMinus, .relation: return "(\(e))"
            case .number(let r, _) where !r.isInteger || r.isNegative: return "(\(e))"
            default: return e.description
            }
        }
        func list(_ xs: [Expr]) -> String { xs.map(\.description).joined(separator: ", ") }
        switch self {
        case .number(let r, _): return r.description
        case .variable(let v): return v
        case .constant(let c):
            switch c {
            case .pi: return "pi"
            case .e: return "E"
            case .i: return "I"
            case .infinity: return "oo"
            }
        case .sum(let xs):
            var s = ""
            for (k, x) in xs.enumerated() {
                if k > 0, case .negate(let inner) = x { s += " - " + wrap(inner); continue }
                s += (k == 0 ? "" : " + ") + x.description
            }
            return s
        case .product(let xs): return xs.map(wrap).joined(separator: "*")
        case .quotient(let a, let b): return "\(wrap(a))/\(wrap(b))"
        case .power(let a, let b): return "\(wrap(a))**\(wrap(b))"
        case .negate(let a): return "-\(wrap(a))"
        case .function(.factorial, let xs): return "factorial(\(list(xs)))"
        case .function(let f, let xs): return "\(f.rawValue)(\(list(xs)))"
        case .plusMinus(let a, let b): return (a.map { "\($0) " } ?? "") + "± \(wrap(b))"
        case .percent(let a): return "\(wrap(a))%"
        case .based(let d, let b): return "\(d)_\(b)"
        case .tuple(let xs): return "(\(list(xs)))"
        case .interval(let a, let b, let l, let r): return "\(l ? "[" : "(")\(a), \(b)\(r ? "]" : ")")"
        case .set(let xs): return "{\(list(xs))}"
        case .union(let xs): return xs.map(\.description).joined(separator: " U ")
        case .matrix(let rows): return "Matrix([" + rows.map { "[\(list($0))]" }.joined(separator: ", ") + "])"
        case .relation(let xs, let ops):
            var s = xs[0].description
            for (k, op) in ops.enumerated() { s += " \(op.rawValue) \(xs[k + 1])" }
            return s
        case .text(let t): return "\"\(t)\""
        }
    }
}

extension Expr {
    /// The same expression with variables renamed (`map`: old name → new name).
    func renaming(_ map: [String: String]) -> Expr {
        func r(_ e: Expr) -> Expr { e.renaming(map) }
        switch self {
        case .variable(let v): return .variable(map[v] ?? v)
        case .number, .constant, .based, .text: return self
        case .sum(let xs): return .sum(xs.map(r))
        case .product(let xs): return .product(xs.map(r))
        case .tuple(let xs): return .tuple(xs.map(r))
        case .set(let xs): return .set(xs.map(r))
        case .union(let xs): return .union(xs.map(r))
        case .function(let f, let xs): return .function(f, xs.map(r))
        case .relation(let xs, let ops): return .relation(xs.map(r), ops)
        case .quotient(let a, let b): return .quotient(r(a), r(b))
        case .power(let a, let b): return .power(r(a), r(b))
        case .interval(let a, let b, let lc, let rc): return .interval(r(a), r(b), leftClosed: lc, rightClosed: rc)
        case .negate(let a): return .negate(r(a))
        case .percent(let a): return .percent(r(a))
        case .plusMinus(let a, let b): return .plusMinus(a.map(r), r(b))
        case .matrix(let rows): return .matrix(rows.map { $0.map(r) })
        }
    }

    /// A scalar times a matrix as the matrix of products (`2\begin{pmatrix}1&2\end{pmatrix}`, `-M`); nil when
    /// this is not a product of scalars and exactly one matrix.
    var scaledMatrix: Expr? {
        switch self {
        case .negate(let a):
            guard case .matrix(let rows)? = a.scaledMatrix ?? (a.isMatrix ? a : nil) else { return nil }
            return .matrix(rows.map { $0.map { .negate($0) } })
        case .product(let xs):
            let matrices = xs.filter(\.isMatrix)
            guard matrices.count == 1, case .matrix(let rows) = matrices[0],
                xs.allSatisfy({ $0.isMatrix || $0.isScalar }) else { return nil }
            let factors = xs.filter { !$0.isMatrix }
            return .matrix(rows.map { $0.map { .product(factors + [$0]) } })
        default: return nil
        }
    }

    var isMatrix: Bool { if case .matrix = self { return true } else { return false } }
}
