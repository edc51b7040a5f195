/// Tokens of LaTeX or plain-text math. Spacing commands, `\left`/`\right`, `$` and degree marks are dropped here.
enum Token: Hashable, Sendable {
    /// Digits with an optional fraction part (thousands separators removed) and an optional repeating part.
    case number(String, repeating: String?)
    /// A single-letter variable or a Greek letter name.
    case letter(String)
    /// A known command (`frac`, `sqrt`, `sin`, `pi`, `infty`, `begin:pmatrix`, …).
    case command(String)
    /// Operators and brackets: + - * / ^ _ ! = < > <= >= != , ( ) [ ] { } {s }s | & \\ % pm cup in
    case op(String)
    /// The content of `\text{…}` and friends.
    case text(String)
}


struct Lexer {
    private let s: [Unicode.Scalar]
    private var i = 0
    private var out: [Token] = []
    private var depth = 0
    private let budget: Budget

    static func lex(_ input: String, budget: Budget) throws(VerifyFailure) -> [Token] {
        var lx = Lexer(s: Array(input.unicodeScalars), budget: budget)
        try lx.run()
        return lx.out
    }

    private init(s: [Unicode.Scalar], budget: Budget) {
        self.s = s
        self.budget = budget
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }
    private static func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0.value >= 48 && $0.value <= 57 } ?? false }
    private static func isLetter(_ c: Unicode.Scalar?) -> Bool {
        guard let v = c?.value else { return false }
        return (v >= 65 && v <= 90) || (v >= 97 && v <= 122)
    }

    private mutating func run() throws(VerifyFailure) {
        while let c = peek() {
            try budget.charge()
            switch c {
            case " ", "\t", "\n", "\r", "~", "$": i += 1
            case "\\": try lexCommand()
            case "0"..."9": lexNumber()
            case ".":
                if Lexer.isDigit(peek(1)) { lexNumber() } else { i += 1 }  // a trailing full stop
            case "a"..."z", "A"..."Z": lexWord()
            case "(", "[": depth += 1; out.append(.op(String(c))); i += 1
            case ")", "]": depth -= 1; out.append(.op(String(c))); i += 1
            case "{":
                // `{,}` is a LaTeX thousands separator when digits follow.
                if peek(1) == ",", peek(2) == "}", Lexer.isDigit(peek(3)), case .number = out.last {
                    i += 3; continue
                }
                out.append(.op("{")); i += 1
            case "}": out.append(.op("}")); i += 1
            case "+", "-", "/", "^", "_", "!", "=", "|", "&", "%", ",", ";", ":", "'":
                i += 1
                if c == "^", peek() == "{", peek(1) == "\\", matchWord(at: i + 2, "circ"), skipDegree(from: i) {
                    out.append(.op("deg"))
                    continue
                }
                if c == "^", peek() == "\\", matchWord(at: i + 1, "circ") {
                    i += 5
                    out.append(.op("deg"))
                    continue
                }
                if c == "!", peek() == "=", !Lexer.endsOperand(out.last) {
                    // `!=` is ≠, not a factorial before `=`.
                    i += 1
                    out.append(.op("!="))
                    continue
                }
                out.append(.op(String(c)))
            case "*":
                i += 1
                if peek() == "*" { i += 1; out.append(.op("^")) } else { out.append(.op("*")) }
            case "<", ">":
                i += 1
                if peek() == "=" { i += 1; out.append(.op(String(c) + "=")) } else { out.append(.op(String(c))) }
            default:
                i += 1
                try lexUnicode(c)
            }
        }
    }

    private func matchWord(at k: Int, _ w: String) -> Bool {
        var j = k
        for ch in w.unicodeScalars {
            guard j < s.count, s[j] == ch else { return false }
            j += 1
        }
        return j >= s.count || !Lexer.isLetter(s[j])
    }

    /// `{\circ}` after `^`: skips it and returns true.
    private mutating func skipDegree(from k: Int) -> Bool {
        var j = k + 1 + 5
        while j < s.count, s[j] == " " { j += 1 }
        guard j < s.count, s[j] == "}" else { return false }
        i = j + 1
        return true
    }

    private mutating func lexUnicode(_ c: Unicode.Scalar) throws(VerifyFailure) {
        switch c {
        case "π": out.append(.command("pi"))
        case "√": out.append(.command("usqrt"))
        case "∞": out.append(.command("infty"))
        case "±", "∓": out.append(.op("pm"))
        case "≤", "⩽": out.append(.op("<="))
        case "≥", "⩾": out.append(.op(">="))
        case "≠": out.append(.op("!="))
        case "−", "–": out.append(.op("-"))
        case "×", "·", "⋅": out.append(.op("*"))
        case "÷": out.append(.op("/"))
        case "∪": out.append(.op("cup"))
        case "∈": out.append(.op("in"))
        case "°": out.append(.op("deg"))
        case "²", "³": out.append(.op("^")); out.append(.number(c == "²" ? "2" : "3", repeating: nil))
        case "\u{00A0}", "\u{2009}", "\u{202F}": break
        default: throw .parse("unexpected character '\(c)'")
        }
    }

    private mutating func lexNumber() {
        var intPart = ""
        while Lexer.isDigit(peek()) { intPart.unicodeScalars.append(s[i]); i += 1 }
        // Digits of a base above ten: `2A_{16}`.
        var j = i
        while j < s.count, Lexer.isLetter(s[j]) || Lexer.isDigit(s[j]) { j += 1 }
        if j > i, j < s.count, s[j] == "_", !intPart.isEmpty {
            out.append(.command("based:" + intPart + String(String.UnicodeScalarView(s[i..<j]))))
            i = j
            return
        }
        // Thousands separators: `1,234,567` at top level, `10\,000` anywhere; the first group has 1-3 digits.
        var sawSeparator = false
        while (1...3).contains(intPart.count) || intPart.count > 3 && sawSeparator {
            let sepLen: Int
            if peek() == ",", peek(1) == "\\", peek(2) == "!" {
                // `10,\!080` and `11,\! 111`
                var k = i + 3
                while k < s.count, s[k] == " " { k += 1 }
                sepLen = k - i
            } else if peek() == ",", depth == 0 {
                sepLen = 1
            } else if peek() == "\\", peek(1) == "," {
                sepLen = 2
            } else if peek() == "{", peek(1) == ",", peek(2) == "}" {
                sepLen = 3
            } else {
                break
            }
            var j = i + sepLen
            var digits = 0
            while j < s.count, Lexer.isDigit(s[j]) { digits += 1; j += 1 }
            if digits != 3 { break }
            for k in (i + sepLen)..<j { intPart.unicodeScalars.append(s[k]) }
            i = j
            sawSeparator = true
        }
        var frac = ""
        if peek() == ".", Lexer.isDigit(peek(1)) || peek(1) == "\\" {
            i += 1
            while Lexer.isDigit(peek()) { frac.unicodeScalars.append(s[i]); i += 1 }
        }
        var repeating: String? = nil
        // `0.\overline{3}` — a repeating decimal.
        if !frac.isEmpty || (i > 0 && s[i - 1] == "."), peek() == "\\", matchWord(at: i + 1, "overline") {
            var j = i + 9
            if j < s.count, s[j] == "{" {
                j += 1
                var rep = ""
                while j < s.count, Lexer.isDigit(s[j]) { rep.unicodeScalars.append(s[j]); j += 1 }
                if j < s.count, s[j] == "}", !rep.isEmpty { repeating = rep; i = j + 1 }
            }
        }
        // Scientific notation in plain text: 1.5e-3, 2E10.
        if peek() == "e" || peek() == "E" {
            var j = i + 1
            if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
            if j < s.count, Lexer.isDigit(s[j]) {
                var exp = String(s[i + 1..<j].map(Character.init))
                while j < s.count, Lexer.isDigit(s[j]) { exp.unicodeScalars.append(s[j]); j += 1 }
                i = j
                out.append(.number(intPart + (frac.isEmpty ? "" : "." + frac), repeating: nil))
                out.append(.op("*"))
                out.append(.number("10", repeating: nil))
                out.append(.op("^"))
                out.append(.op("{"))
                if exp.hasPrefix("-") { out.append(.op("-")); exp.removeFirst() } else if exp.hasPrefix("+") { exp.removeFirst() }
                out.append(.number(exp, repeating: nil))
                out.append(.op("}"))
                return
            }
        }
        if intPart.isEmpty { intPart = "0" }
        out.append(.number(frac.isEmpty && repeating == nil ? intPart : intPart + "." + frac, repeating: repeating))
    }

    /// `5!=120` is a factorial then `=`; `x != 2` (after a letter) is ≠.
    static func endsOperand(_ t: Token?) -> Bool {
        switch t {
        case .number?: return true
        case .op(let o)? where o == ")" || o == "]" || o == "}": return true
        default: return false
        }
    }

    static let plainWords: [String: Token] = [
        "sqrt": .command("sqrt"), "pi": .command("pi"), "inf": .command("infty"), "infty": .command("infty"),
        "infinity": .command("infty"), "oo": .command("infty"), "sin": .command("sin"), "cos": .command("cos"),
        "tan": .command("tan"), "cot": .command("cot"), "sec": .command("sec"), "csc": .command("csc"),
        "ln": .command("ln"), "log": .command("log"), "exp": .command("exp"), "abs": .command("abs"),
        "arcsin": .command("arcsin"), "arccos": .command("arccos"), "arctan": .command("arctan"),
        "and": .op(","), "or": .op(","), "U": .op("cup"),
    ]

    private mutating func lexWord() {
        let start = i
        while Lexer.isLetter(peek()) { i += 1 }
        let w = String(String.UnicodeScalarView(s[start..<i]))
        if let t = Lexer.plainWords[w] { out.append(t); return }
        if w.count >= 3 {
            // A plain-text word: a unit after a value ("5 apples") or a text answer ("Sunday").
            out.append(.text(w))
            return
        }
        for ch in w.unicodeScalars { out.append(.letter(String(ch))) }
    }

    static let skipCommands: Set<String> = [
        "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
        "displaystyle", "textstyle", "quad", "qquad", "limits", "nolimits", "mathrm", "mathbf", "textbf",
        "boldsymbol", "mathit", "mathsf", "bf", "rm", "it", "dollar", "overline", "hline", "cr", "nonumber",
        "middle", "phantom", "hspace", "vspace", "displaylimits",
    ]
    static let greek: Set<String> = [
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
        "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
        "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
    ]
    static let renamed: [String: Token] = [
        "dfrac": .command("frac"), "tfrac": .command("frac"), "cfrac": .command("frac"), "frac": .command("frac"),
        "dbinom": .command("binom"), "tbinom": .command("binom"), "binom": .command("binom"),
        "infty": .command("infty"), "infin": .command("infty"), "pm": .op("pm"), "mp": .op("pm"),
        "cdot": .op("*"), "times": .op("*"), "ast": .op("*"), "div": .op("/"),
        "le": .op("<="), "leq": .op("<="), "leqslant": .op("<="), "ge": .op(">="), "geq": .op(">="),
        "geqslant": .op(">="), "lt": .op("<"), "gt": .op(">"), "ne": .op("!="), "neq": .op("!="),
        "cup": .op("cup"), "in": .op("in"), "choose": .op("choose"), "emptyset": .command("emptyset"), "varnothing": .command("emptyset"),
        "lfloor": .op("lfloor"), "rfloor": .op("rfloor"), "lceil": .op("lceil"), "rceil": .op("rceil"),
        "vert": .op("|"), "lvert": .op("|"), "rvert": .op("|"), "mid": .op("|"), "colon": .op(":"),
        "land": .op(","), "lor": .op(","), "wedge": .op(","), "vee": .op(","),
    ]
    static let functions: Set<String> = [
        "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
        "ln", "log", "exp", "pi", "lg",
    ]

    private mutating func lexCommand() throws(VerifyFailure) {
        i += 1
        guard let c = peek() else { return }
        if !Lexer.isLetter(c) {
            i += 1
            switch c {
            case "{": out.append(.op("{s")); depth += 1
            case "}": out.append(.op("}s")); depth -= 1
            case "\\": out.append(.op("\\\\"))
            case "%": out.append(.op("%"))
            case "|": out.append(.op("|"))
            case "$", ",", ";", ":", "!", " ", "#", "&", ">", "<":
                break  // spacing, escaped symbols
            default: throw .parse("unknown command '\\\(c)'")
            }
            return
        }
        let start = i
        while Lexer.isLetter(peek()) { i += 1 }
        let name = String(String.UnicodeScalarView(s[start..<i]))
        if Lexer.skipCommands.contains(name) { return }
        if let t = Lexer.renamed[name] { out.append(t); return }
        if Lexer.greek.contains(name) { out.append(.letter(name)); return }
        // Names in labels (`\angle ABC = 60^\circ`, `\max = 8`): part of the label, not an operation.
        if name == "angle" {
            // `\angle ABC`: the angle's name is part of the label.
            while peek() == " " { i += 1 }
            let start = i
            while Lexer.isLetter(peek()) { i += 1 }
            out.append(.letter("angle" + String(String.UnicodeScalarView(s[start..<i]))))
            return
        }
        if name == "max" || name == "min" { out.append(.letter(name)); return }
        if Lexer.functions.contains(name) { out.append(.command(name == "lg" ? "log" : name)); return }
        switch name {
        case "text", "textrm", "mbox", "textit", "textnormal", "mathtt", "texttt", "textsf", "operatorname":
            let content = try readGroup()
            if name == "operatorname" { out.append(.command(content)); return }
            out.append(.text(content))
        case "begin", "end":
            let env = try readGroup()
            out.append(.command(name + ":" + env))
            // `\begin{array}{cc}`: drop the column spec.
            if name == "begin", env == "array" || env == "tabular" { _ = try? readGroup() }
        case "circ", "degree": out.append(.op("deg"))
        case "mathbb":
            // `\mathbb{R}` is the interval (-∞, ∞); other blackboard letters stay names.
            let set = try readGroup().trimmingSpaces
            if set == "R" {
                out += [.op("("), .op("-"), .command("infty"), .op(","), .command("infty"), .op(")")]
            } else {
                out.append(.letter(set))
            }
        default:
            out.append(.command(name))
        }
    }

    /// Reads `{…}` with nested braces and returns its raw content.
    private mutating func readGroup() throws(VerifyFailure) -> String {
        while peek() == " " { i += 1 }
        guard peek() == "{" else {
            // `\text x`: a single character.
            guard let c = peek() else { throw .parse("missing argument") }
            i += 1
            return String(c)
        }
        i += 1
        let start = i
        var level = 1
        while let c = peek() {
            try budget.charge()
            if c == "\\" { i += 2; continue }
            if c == "{" { level += 1 }
            if c == "}" { level -= 1; if level == 0 { break } }
            i += 1
        }
        guard level == 0, i <= s.count else { throw .parse("unbalanced braces") }
        let content = String(String.UnicodeScalarView(s[start..<min(i, s.count)]))
        i += 1
        return content
    }
}
