/// From an extracted answer string to an `Expr`: trimming, lexing, parsing, then expanding `±` into sets.
enum AnswerParser {
    static func parse(_ raw: String, budget: Budget) throws(VerifyFailure) -> Expr {
        if raw.utf8.count > budget.limits.maxAnswerLength {
            throw .limit("answer longer than \(budget.limits.maxAnswerLength) characters")
        }
        var tokens = try Lexer.lex(raw, budget: budget)
        // Trailing punctuation of a sentence.
        while let last = tokens.last, last == .op(",") || last == .op(";") || last == .op(":") { tokens.removeLast() }
        if tokens.isEmpty { throw .parse("empty answer") }
        // Only words: a text answer.
        if tokens.allSatisfy({ if case .text = $0 { return true } else { return $0 == .op(",") } }) {
            let words = tokens.compactMap { t -> String? in if case .text(let w) = t { return w } else { return nil } }
            return Parser.textAnswer(words.joined(separator: " "))
        }
        let e = try Parser.parse(tokens, budget: budget)
        return try expandPlusMinus(e, budget: budget)
    }

    /// `a ± b` becomes the set {a+b, a-b}; inside sets, tuples and relations each element is expanded.
    static func expandPlusMinus(_ e: Expr, budget: Budget) throws(VerifyFailure) -> Expr {
        var hasPM = false
        e.visit { if case .plusMinus = $0 { hasPM = true } }
        guard hasPM else { return e }
        switch e {
        case .set(let xs):
            var out: [Expr] = []
            for x in xs { out += try variants(x, budget: budget) }
            return .set(out)
        case .tuple(let xs):
            var out: [Expr] = []
            for x in xs {
                let v = try variants(x, budget: budget)
                out.append(v.count == 1 ? v[0] : .set(v))
            }
            return .tuple(out)
        default:
            let v = try variants(e, budget: budget)
            return v.count == 1 ? v[0] : .set(v)
        }
    }

    /// Every choice of signs for the `±` in a scalar expression (at most 16).
    static func variants(_ e: Expr, budget: Budget) throws(VerifyFailure) -> [Expr] {
        try budget.charge()
        switch e {
        case .plusMinus(let a, let b):
            let bs = try variants(b, budget: budget)
            var out: [Expr] = []
            for bv in bs {
                if let a {
                    for av in try variants(a, budget: budget) {
                        out.append(.sum([av, bv]))
                        out.append(.sum([av, .negate(bv)]))
                    }
                } else {
                    out.append(bv)
                    out.append(.negate(bv))
                }
            }
            if out.count > 16 { throw .limit("too many ± signs") }
            return out
        default:
            let kids = e.children
            var hasPM = false
            e.visit { if case .plusMinus = $0 { hasPM = true } }
            if kids.isEmpty || !hasPM { return [e] }
            // Rebuild with each child's variants (cartesian product, bounded).
            var combos: [[Expr]] = [[]]
            for k in kids {
                let vs = try variants(k, budget: budget)
                combos = combos.flatMap { c in vs.map { c + [$0] } }
                if combos.count > 16 { throw .limit("too many ± signs") }
            }
            return combos.map { e.replacingChildren($0) }
        }
    }

    /// The raw answer with spacing, `$`, `\left`/`\right` and `d`/`t` of `\dfrac`/`\tfrac` removed, for a
    /// last-resort text comparison. One pass over the bytes.
    static func normalizeForComparison(_ s: String) -> String {
        var out: [UInt8] = []
        let u = Array(s.utf8)
        out.reserveCapacity(u.count)
        var i = 0
        func at(_ k: Int, _ w: String) -> Bool {
            var j = k
            for b in w.utf8 {
                guard j < u.count, u[j] == b else { return false }
                j += 1
            }
            return true
        }
        while i < u.count {
            let c = u[i]
            if c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D || c == UInt8(ascii: "$") { i += 1; continue }
            if c == UInt8(ascii: "\\"), i + 1 < u.count {
                let n = u[i + 1]
                if n == UInt8(ascii: "!") || n == UInt8(ascii: ",") || n == UInt8(ascii: ";") || n == UInt8(ascii: ":")
                    || n == 0x20 {
                    i += 2
                    continue
                }
                if at(i + 1, "left") { i += 5; continue }
                if at(i + 1, "right") { i += 6; continue }
                if at(i + 1, "displaystyle") { i += 13; continue }
                if at(i + 1, "dfrac") || at(i + 1, "tfrac") {
                    out += Array("\\frac".utf8)
                    i += 6
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        while out.last == UInt8(ascii: ".") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Expr {
    /// The same node with new children (in `children` order).
    func replacingChildren(_ c: [Expr]) -> Expr {
        switch self {
        case .number, .variable, .constant, .based, .text: return self
        case .sum: return .sum(c)
        case .product: return .product(c)
        case .tuple: return .tuple(c)
        case .set: return .set(c)
        case .union: return .union(c)
        case .function(let f, _): return .function(f, c)
        case .relation(_, let ops): return .relation(c, ops)
        case .quotient: return .quotient(c[0], c[1])
        case .power: return .power(c[0], c[1])
        case .interval(_, _, let l, let r): return .interval(c[0], c[1], leftClosed: l, rightClosed: r)
        case .negate: return .negate(c[0])
        case .percent: return .percent(c[0])
        case .plusMinus(let a, _): return a == nil ? .plusMinus(nil, c[0]) : .plusMinus(c[0], c[1])
        case .matrix(let rows):
            var k = 0
            return .matrix(rows.map { row in row.map { _ in defer { k += 1 }; return c[k] } })
        }
    }
}
