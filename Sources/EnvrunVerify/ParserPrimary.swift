import BigInt

extension Parser {
    static let functionNames: [String: Expr.Function] = [
        "sin": .sin, "cos": .cos, "tan": .tan, "cot": .cot, "sec": .sec, "csc": .csc,
        "arcsin": .asin, "arccos": .acos, "arctan": .atan, "sinh": .sinh, "cosh": .cosh, "tanh": .tanh,
        "ln": .ln, "log": .log, "exp": .exp, "abs": .abs,
    ]
    static let matrixEnvironments: Set<String> = ["pmatrix", "bmatrix", "matrix", "Bmatrix", "vmatrix", "smallmatrix", "array"]

    mutating func parsePrimary() throws(VerifyFailure) -> Expr {
        try enter()
        defer { depth -= 1 }
        guard let t = peek else { throw .parse("unexpected end of answer") }
        pos += 1
        switch t {
        case .number(let digits, let rep):
            // Reading decimal digits into a BigInt costs the square of their count: charge a long number and
            // refuse one beyond `maxBits` before converting (150 000 digits took minutes, uncharged).
            let bits = (digits.utf8.count + (rep?.utf8.count ?? 0)) * 10 / 3
            if bits > 64 { try budget.chargeBits(bits) }
            let value = try Parser.numberValue(digits, repeating: rep)
            let lit = try node(.number(value, decimal: digits.contains(".") && rep == nil))
            // A mixed number: `2\frac{1}{2}` is 5/2.
            if value.isInteger, !digits.contains("."), peek == .command("frac") {
                let save = pos
                pos += 1
                let f = try parseFrac()
                if case .quotient(.number(let a, false), .number(let b, false)) = f, a.isInteger, b.isInteger,
                    !a.isNegative, !b.isNegative {
                    return try node(.sum([lit, f]))
                }
                pos = save
            }
            return lit
        case .letter(let l):
            if l == "e" { return try node(.constant(.e)) }
            if l == "i" { return try node(.constant(.i)) }
            return try node(.variable(l))
        case .text(let t):
            return try node(Parser.textAnswer(t))
        case .command(let c):
            return try parseCommand(c)
        case .op(let o):
            switch o {
            case "(", "[": return try parseBracket(open: o)
            case "{":
                let items = try parseList(closers: ["}"])
                try expect("}")
                if items.count == 1 { return items[0] }
                return try node(.set(items))
            case "{s":
                let items = try parseList(closers: ["}s"])
                try expect("}s")
                return try node(.set(items))
            case "|":
                absDepth += 1
                let inner = try parseAdditive()
                absDepth -= 1
                try expect("|")
                return try node(.function(.abs, [inner]))
            case "lfloor", "lceil":
                let inner = try parseAdditive()
                try expect(o == "lfloor" ? "rfloor" : "rceil")
                return try node(.function(o == "lfloor" ? .floor : .ceil, [inner]))
            default:
                throw .parse("unexpected '\(o)'")
            }
        }
    }

    /// `(a)`, `(a, b)`, `[a, b]`, `(a, b]`, `[a, b)`.
    mutating func parseBracket(open: String) throws(VerifyFailure) -> Expr {
        let items = try parseList(closers: [")", "]"])
        let close: String
        if eat(")") { close = ")" } else if eat("]") { close = "]" } else { throw .parse("unclosed '\(open)'") }
        if items.isEmpty { throw .parse("empty brackets") }
        if items.count == 1 {
            guard open == "(" && close == ")" || open == "[" && close == "]" else {
                throw .parse("mismatched brackets")
            }
            return items[0]
        }
        if open == "(" && close == ")" { return try node(.tuple(items)) }
        if items.count == 2 {
            return try node(.interval(items[0], items[1], leftClosed: open == "[", rightClosed: close == "]"))
        }
        if open == "[" && close == "]" { return try node(.tuple(items)) }
        throw .parse("mismatched brackets")
    }

    /// One LaTeX argument: `{…}`, a single digit of a number, a letter, or a command like `\pi`.
    mutating func parseArg() throws(VerifyFailure) -> Expr {
        guard let t = peek else { throw .parse("missing argument") }
        if t == .op("{") {
            pos += 1
            let items = try parseList(closers: ["}"])
            try expect("}")
            guard !items.isEmpty else { throw .parse("empty group") }
            return items.count == 1 ? items[0] : try node(.set(items))
        }
        if case .number(let n, nil) = t, n.count > 1, !n.contains(".") {
            toks[pos] = .number(String(n.dropFirst()), repeating: nil)
            return try node(.number(Rational(Int(String(n.first!))!), decimal: false))
        }
        return try parsePrimary()
    }

    mutating func parseFrac() throws(VerifyFailure) -> Expr {
        let a = try parseArg()
        let b = try parseArg()
        return try node(.quotient(a, b))
    }

    mutating func parseCommand(_ c: String) throws(VerifyFailure) -> Expr {
        switch c {
        case "frac": return try parseFrac()
        case "binom":
            let a = try parseArg()
            return try node(.function(.binom, [a, try parseArg()]))
        case "sqrt":
            if eat("[") {
                let n = try parseAdditive()
                try expect("]")
                return try node(.function(.root, [n, try parseArg()]))
            }
            if peekOp("(") { return try node(.function(.sqrt, [try parsePrimary()])) }
            return try node(.function(.sqrt, [try parseArg()]))
        case "usqrt":
            // Unicode `√25` takes the whole number (or group) that follows, unlike LaTeX `\sqrt25`.
            return try node(.function(.sqrt, [try parsePostfix()]))
        case "pi": return try node(.constant(.pi))
        case "infty": return try node(.constant(.infinity))
        case "emptyset": return try node(.set([]))
        default:
            if let f = Parser.functionNames[c] { return try parseFunction(f) }
            if c.hasPrefix("based:") {
                let digits = String(c.dropFirst(6))
                try expect("_")
                let sub = try readSubscript()
                guard let b = Int(sub), b >= 2, b <= 36,
                    digits.allSatisfy({ $0.hexDigitValue.map { $0 < b } ?? ($0.isLetter && b > 16) }) else {
                    throw .parse("'\(digits)' is not a number in base '\(sub)'")
                }
                return try node(.based(digits: digits, base: b))
            }
            if c.hasPrefix("begin:") {
                let env = String(c.dropFirst(6))
                guard Parser.matrixEnvironments.contains(env) else { throw .parse("unsupported environment '\(env)'") }
                return try parseMatrix(env)
            }
            throw .parse("unsupported command '\\\(c)'")
        }
    }

    /// `\sin x`, `\sin(x)`, `\sin^2 x`, `\log_2 8`, `\sin 2x`.
    mutating func parseFunction(_ f: Expr.Function) throws(VerifyFailure) -> Expr {
        var power: Expr? = nil
        var base: Expr? = nil
        for _ in 0..<2 {
            if eat("^") { power = try parseExponent() } else if eat("_") { base = try parseArg() }
        }
        let trig: Set<Expr.Function> = [.sin, .cos, .tan, .cot, .sec, .csc]
        if trig.contains(f) { trigDepth += 1 }
        defer { if trig.contains(f) { trigDepth -= 1 } }
        let arg: Expr
        if peekOp("(") {
            pos += 1
            let items = try parseList(closers: [")"])
            try expect(")")
            guard items.count == 1 else { throw .parse("function of several arguments") }
            arg = items[0]
        } else if peekOp("{") {
            arg = try parseArg()
        } else {
            // `\sin 2x`: a run of implicitly multiplied numbers and letters.
            var factors = [try parsePower()]
            while let t = peek, case .letter = t { factors.append(try parsePower()) }
            arg = factors.count == 1 ? factors[0] : try node(.product(factors))
        }
        var e: Expr
        switch (f, base) {
        case (.log, let b?): e = try node(.function(.log, [arg, b]))
        case (.log, nil): e = try node(.function(.ln, [arg]))
        default: e = try node(.function(f, [arg]))
        }
        if let p = power {
            if case .negate(.number(let one, _)) = p, one == .one {
                // `\sin^{-1}` is the inverse function.
                let inverse: [Expr.Function: Expr.Function] = [.sin: .asin, .cos: .acos, .tan: .atan]
                guard let g = inverse[f] else { throw .parse("unsupported inverse function") }
                return try node(.function(g, [arg]))
            }
            e = try node(.power(e, p))
        }
        return e
    }

    mutating func parseMatrix(_ env: String) throws(VerifyFailure) -> Expr {
        var rows: [[Expr]] = []
        var row: [Expr] = []
        while true {
            guard let t = peek else { throw .parse("unclosed \\begin{\(env)}") }
            if t == .command("end:" + env) {
                pos += 1
                if !row.isEmpty { rows.append(row) }
                break
            }
            row.append(try parseItem())
            if eat("&") { continue }
            if eat("\\\\") { rows.append(row); row = []; continue }
            guard peek == .command("end:" + env) else { throw .parse("bad matrix cell") }
        }
        guard let width = rows.first?.count, rows.allSatisfy({ $0.count == width }) else {
            throw .parse("ragged matrix")
        }
        return try node(.matrix(rows))
    }

    /// `\text{A, D}` is the set of choices {A, D}; other text is one text answer.
    static func textAnswer(_ t: String) -> Expr {
        let items = t.split(separator: ",").map { String($0).trimmingSpaces }
        if items.count > 1, items.allSatisfy({ !$0.isEmpty && $0.count <= 3 }) { return .set(items.map { .text($0) }) }
        return .text(t.trimmingSpaces)
    }

    static func numberValue(_ digits: String, repeating: String?) throws(VerifyFailure) -> Rational {
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = BigInt(parts[0].isEmpty ? "0" : String(parts[0])) else {
            throw .parse("bad number '\(digits)'")
        }
        let frac = parts.count == 2 ? String(parts[1]) : ""
        let scale = BigInt(10).power(frac.count)
        var value = Rational(whole * scale + (BigInt(frac.isEmpty ? "0" : frac) ?? 0), scale)
        if let rep = repeating, let r = BigInt(rep) {
            let nines = BigInt(10).power(rep.count) - 1
            value = value + Rational(r, nines * scale)
        }
        return value
    }
}
