/// Recursive-descent parser from tokens to `Expr`, bounded in depth, nodes and work.
struct Parser {
    var toks: [Token]
    var pos = 0
    let budget: Budget
    var depth = 0
    var nodes = 0
    var absDepth = 0
    /// Inside the argument of a trigonometric function, where degrees mean π/180.
    var trigDepth = 0

    static func parse(_ tokens: [Token], budget: Budget) throws(VerifyFailure) -> Expr {
        var p = Parser(toks: tokens, budget: budget)
        if tokens.isEmpty { throw .parse("empty answer") }
        let items = try p.parseList(closers: [])
        guard p.pos == p.toks.count else { throw .parse("unexpected '\(p.describe(p.toks[p.pos]))'") }
        return items.count == 1 ? items[0] : try p.node(.set(items))
    }

    // MARK: helpers

    var peek: Token? { pos < toks.count ? toks[pos] : nil }
    func peekOp(_ o: String) -> Bool { peek == .op(o) }
    mutating func eat(_ o: String) -> Bool {
        if peekOp(o) { pos += 1; return true }
        return false
    }
    mutating func expect(_ o: String) throws(VerifyFailure) {
        guard eat(o) else { throw .parse("expected '\(o)'" + (peek.map { " before '\(describe($0))'" } ?? " at end")) }
    }
    func describe(_ t: Token) -> String {
        switch t {
        case .number(let n, _): return n
        case .letter(let l): return l
        case .command(let c): return "\\" + c
        case .op(let o): return o
        case .text(let t): return "\\text{\(t)}"
        }
    }

    mutating func node(_ e: Expr) throws(VerifyFailure) -> Expr {
        nodes += 1
        if nodes > budget.limits.maxNodes { throw .limit("more than \(budget.limits.maxNodes) nodes") }
        try budget.charge()
        return e
    }

    mutating func enter() throws(VerifyFailure) {
        depth += 1
        if depth > budget.limits.maxDepth { throw .limit("nesting deeper than \(budget.limits.maxDepth)") }
        try budget.charge()
    }

    static func isSeparatorText(_ t: String) -> Bool {
        let w = t.trimmingSpaces.lowercased()
        return w == "or" || w == "and" || w == "," || w == "" || w == "or," || w == "and,"
    }

    // MARK: grammar

    /// Items separated by `,` `;` or the words "and"/"or", up to (not including) one of `closers`.
    /// Groups separated by `;` whose items are separated by `,` are the solutions of a system
    /// (`a=3,b=1;a=5,b=1`): each group of several items is one tuple.
    mutating func parseList(closers: Set<String>) throws(VerifyFailure) -> [Expr] {
        var groups: [[Expr]] = [[]]
        func result() throws(VerifyFailure) -> [Expr] {
            guard groups.count > 1, groups.contains(where: { $0.count > 1 }) else { return groups.flatMap { $0 } }
            var out: [Expr] = []
            for g in groups where !g.isEmpty { out.append(g.count == 1 ? g[0] : try node(.tuple(g))) }
            return out
        }
        while true {
            while case .text(let t)? = peek, Parser.isSeparatorText(t) { pos += 1 }
            if groups.allSatisfy(\.isEmpty), peek == nil || closers.contains(where: { peekOp($0) }) { return [] }
            groups[groups.count - 1].append(try parseItem())
            var separated = false
            while true {
                if eat(",") { separated = true; continue }
                if eat(";") {
                    separated = true
                    if !groups[groups.count - 1].isEmpty { groups.append([]) }
                    continue
                }
                if case .text(let t)? = peek, Parser.isSeparatorText(t) { pos += 1; separated = true; continue }
                break
            }
            if !separated { return try result() }
            if peek == nil || closers.contains(where: { peekOp($0) }) { return try result() }  // trailing comma
        }
    }

    mutating func parseItem() throws(VerifyFailure) -> Expr {
        try enter()
        defer { depth -= 1 }
        var parts = [try parseRelation()]
        while eat("cup") { parts.append(try parseRelation()) }
        if parts.count == 1, eat("choose") {
            // `{n \choose k}`
            return try node(.function(.binom, [parts[0], try parseRelation()]))
        }
        if parts.count == 1, eat(":") {
            // A ratio `3:1` is the number 3/1.
            return try node(.quotient(parts[0], try parseRelation()))
        }
        return parts.count == 1 ? parts[0] : try node(.union(parts))
    }

    static let relOps: [String: Expr.Relation] = ["=": .eq, "!=": .ne, "<": .lt, "<=": .le, ">": .gt, ">=": .ge]

    mutating func parseRelation() throws(VerifyFailure) -> Expr {
        var operands = [try parseRatio()]
        var ops: [Expr.Relation] = []
        while let t = peek {
            if t == .op("in") {
                pos += 1
                // `x \in S`: the answer is S.
                var parts = [try parseRelation()]
                while eat("cup") { parts.append(try parseRelation()) }
                return parts.count == 1 ? parts[0] : try node(.union(parts))
            }
            guard case .op(let o) = t, let r = Parser.relOps[o] else { break }
            pos += 1
            ops.append(r)
            operands.append(try parseRatio())
        }
        return ops.isEmpty ? operands[0] : try node(.relation(operands, ops))
    }

    /// A ratio `3:16` (also a side of a relation, `S_{ABC}:S = 3:16`) is the quotient.
    mutating func parseRatio() throws(VerifyFailure) -> Expr {
        let first = try parseAdditive()
        guard eat(":") else { return first }
        return try node(.quotient(first, try parseAdditive()))
    }

    mutating func parseAdditive() throws(VerifyFailure) -> Expr {
        var terms = [try parseTerm()]
        while true {
            if eat("+") {
                terms.append(try parseTerm())
            } else if eat("-") {
                terms.append(try node(.negate(try parseTerm())))
            } else if eat("pm") {
                let left = terms.count == 1 ? terms[0] : try node(.sum(terms))
                terms = [try node(.plusMinus(left, try parseTerm()))]
            } else {
                break
            }
        }
        return terms.count == 1 ? terms[0] : try node(.sum(terms))
    }

    /// Could the next token start an implicitly multiplied factor?
    func startsFactor() -> Bool {
        guard let t = peek else { return false }
        switch t {
        case .number, .letter: return true
        case .command(let c): return !c.hasPrefix("end:")
        case .op(let o):
            if o == "|" { return absDepth == 0 }
            return o == "(" || o == "{" || o == "lfloor" || o == "lceil"
        case .text: return false
        }
    }

    mutating func parseTerm() throws(VerifyFailure) -> Expr {
        try enter()
        defer { depth -= 1 }
        var factors = [try parseUnary()]
        var divisor: [Expr] = []
        while true {
            if eat("*") {
                factors.append(try parseUnary())
            } else if eat("/") {
                divisor.append(try parseUnary())
            } else if case .text(let t)? = peek, !Parser.isSeparatorText(t) {
                pos += 1  // a unit or a word after a value: `5 \text{ cm}`, `15\mbox{ cm}^2`
                if eat("^") { _ = try parseExponent() }
            } else if startsFactor() {
                if case .number? = peek, case .number? = factors.last, divisor.isEmpty {
                    throw .parse("two numbers side by side")
                }
                factors.append(try parsePower())
            } else {
                break
            }
            // `a / b c` keeps `c` in the numerator, as most graders read it.
        }
        var e = factors.count == 1 ? factors[0] : try node(.product(factors))
        for d in divisor { e = try node(.quotient(e, d)) }
        return e
    }

    mutating func parseUnary() throws(VerifyFailure) -> Expr {
        try enter()
        defer { depth -= 1 }
        if eat("-") { return try node(.negate(try parseUnary())) }
        if eat("+") { return try parseUnary() }
        if eat("pm") { return try node(.plusMinus(nil, try parseUnary())) }
        return try parsePower()
    }

    mutating func parsePower() throws(VerifyFailure) -> Expr {
        let base = try parsePostfix()
        if eat("^") {
            let exponent = try parseExponent()
            return try parsePostfixOps(try node(.power(base, exponent)))
        }
        return base
    }

    /// `^{…}`, `^-1`, `^2`, `^x`, `^\pi`.
    mutating func parseExponent() throws(VerifyFailure) -> Expr {
        try enter()
        defer { depth -= 1 }
        if eat("-") { return try node(.negate(try parseExponent())) }
        if peekOp("{") { return try parseArg() }
        return try parsePower()
    }

    mutating func parsePostfix() throws(VerifyFailure) -> Expr {
        try parsePostfixOps(try parsePrimary())
    }

    mutating func parsePostfixOps(_ start: Expr) throws(VerifyFailure) -> Expr {
        var e = start
        while true {
            if eat("deg") {
                // `60^\circ`: a plain number of degrees, except inside sin/cos/tan where it is 60·π/180.
                if trigDepth > 0 { e = try node(.product([e, .quotient(.constant(.pi), .int(180))])) }
            } else if eat("!") {
                e = try node(.function(.factorial, [e]))
            } else if eat("%") {
                e = try node(.percent(e))
            } else if peekOp("_") {
                pos += 1
                let sub = try readSubscript()
                switch e {
                case .number(let r, false) where r.isInteger && !r.isNegative:
                    guard let b = Int(sub), b >= 2, b <= 36 else { throw .parse("bad base subscript '\(sub)'") }
                    guard r.description.allSatisfy({ $0.hexDigitValue.map { $0 < b } ?? false }) else {
                        throw .parse("'\(r)' is not a number in base \(b)")
                    }
                    e = try node(.based(digits: r.description, base: b))
                case .variable(let v):
                    e = try node(.variable(v + "_" + sub))
                default:
                    throw .parse("unexpected subscript")
                }
            } else {
                return e
            }
        }
    }

    /// The raw text of a subscript: `_2`, `_{10}`, `_{n+1}`.
    mutating func readSubscript() throws(VerifyFailure) -> String {
        func text(_ t: Token) -> String {
            switch t {
            case .number(let n, _): return n
            case .letter(let l): return l
            case .op(let o): return o
            case .command(let c): return c
            case .text(let t): return t
            }
        }
        guard let t = peek else { throw .parse("missing subscript") }
        pos += 1
        if t != .op("{") {
            if case .number(let n, nil) = t, n.count > 1, !n.contains(".") {
                // `x_12` in LaTeX subscripts only the first digit; keep the rest for the parser.
                toks[pos - 1] = .number(String(n.dropFirst()), repeating: nil)
                pos -= 1
                return String(n.prefix(1))
            }
            return text(t)
        }
        var s = ""
        var level = 1
        while let u = peek {
            try budget.charge()
            pos += 1
            if u == .op("{") { level += 1 }
            if u == .op("}") { level -= 1; if level == 0 { return s } }
            s += text(u)
        }
        throw .parse("unclosed subscript")
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
