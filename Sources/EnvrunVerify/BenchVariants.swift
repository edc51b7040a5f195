/// Harder pairs for the benchmark, derived from reference answers: each gold answer rewritten in another
/// notation that means the same (expected equivalent) and with one digit changed (expected not equivalent),
/// both inside a short model-style response. Only rewrites that preserve the meaning in LaTeX are used.
public enum BenchVariants {
    public static func make(from pairs: [BenchPair]) -> [BenchPair] {
        var out: [BenchPair] = []
        for p in pairs {
            let same = rewrite(p.gold)
            out.append(BenchPair(id: p.id + "#same", gold: p.gold, pred: wrap(same), expected: true))
            if let changed = changeDigit(p.gold) {
                out.append(BenchPair(id: p.id + "#digit", gold: p.gold, pred: wrap(changed), expected: false))
            }
            // The traps: a bracket flipped (open/closed, tuple/interval), ± dropped, a list element dropped.
            if let flipped = flipBracket(p.gold) {
                out.append(BenchPair(id: p.id + "#bracket", gold: p.gold, pred: wrap(flipped), expected: false))
            }
            if p.gold.contains("\\pm") {
                let plus = p.gold.replacingAll("\\pm", with: "+")
                out.append(BenchPair(id: p.id + "#pm", gold: p.gold, pred: wrap(plus), expected: false))
            }
            if let shorter = dropLastItem(p.gold) {
                out.append(BenchPair(id: p.id + "#drop", gold: p.gold, pred: wrap(shorter), expected: false))
            }
        }
        return out
    }

    /// `(a, b]` → `[a, b]` etc.: the first bracket of an interval or pair swapped between open and closed.
    static func flipBracket(_ s: String) -> String? {
        var t = s.replacingAll("\\left", with: "").replacingAll("\\right", with: "").trimmingSpaces
        guard let f = t.first, f == "(" || f == "[", let l = t.last, l == ")" || l == "]", t.contains(","),
            !t.contains("\\cup") else { return nil }
        t.removeFirst()
        return (f == "(" ? "[" : "(") + t
    }

    /// A bare list `a, b, c` without its last item.
    static func dropLastItem(_ s: String) -> String? {
        guard s.contains(","), !s.contains("("), !s.contains("["), !s.contains("{"), !s.contains("!") else { return nil }
        var items = s.split(separator: ",")
        guard items.count >= 2 else { return nil }
        items.removeLast()
        return items.joined(separator: ",")
    }

    static func wrap(_ answer: String) -> String { "Putting it together, the final answer is $\\boxed{\(answer)}$." }

    /// The first digit that is not inside a `\begin{…}` name, moved by one (9 becomes 8).
    static func changeDigit(_ s: String) -> String? {
        var chars = Array(s)
        guard let k = chars.firstIndex(where: { $0.isASCII && $0.isNumber }) else { return nil }
        let d = Int(String(chars[k]))!
        chars[k] = Character(String(d == 9 ? 8 : d + 1))
        return String(chars)
    }

    static func rewrite(_ gold: String) -> String {
        var s = gold
        for (a, b) in [(",\\! ", "{,}"), (",\\!", "{,}"), ("\\left", ""), ("\\right", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\!", ""),
                       ("\\text{(", "("), ("\\pi", "π")] {
            s = s.replacingAll(a, with: b)
        }
        if !s.contains("\\sin"), !s.contains("\\cos"), !s.contains("\\tan") {
            s = s.replacingAll("^\\circ", with: "").replacingAll("^{\\circ}", with: "")
        }
        s = fractionsToSlashes(s)
        if s.hasPrefix("\\text{"), s.hasSuffix("}"), !s.dropFirst(6).contains("{") {
            s = String(s.dropFirst(6).dropLast())
        }
        if s.hasSuffix(")}") { s = String(s.dropLast()) }  // the tail of `\text{(C)}`
        s = spaced(s)
        if let reversed = reversedList(s) { s = reversed }
        if s.allSatisfy(\.isNumber), s.count > 4 { s = thousands(s) }
        return s
    }

    /// `\frac{A}{B}` → `((A)/(B))` when A and B hold no braces and the fraction is not an exponent, a subscript
    /// or the fraction part of a mixed number.
    static func fractionsToSlashes(_ s: String) -> String {
        var chars = Array(s)
        var searchFrom = 0
        while let r = find(Array("\\frac{"), in: chars, from: searchFrom) {
            let before = chars[..<r].last { $0 != " " } ?? " "
            guard before != "^", before != "_", !(before.isASCII && before.isNumber),
                let aEnd = chars[(r + 6)...].firstIndex(of: "}"), !chars[(r + 6)..<aEnd].contains("{"),
                aEnd + 1 < chars.count, chars[aEnd + 1] == "{",
                let bEnd = chars[(aEnd + 2)...].firstIndex(of: "}"), !chars[(aEnd + 2)..<bEnd].contains("{")
            else {
                searchFrom = r + 1
                continue
            }
            let a = chars[(r + 6)..<aEnd], b = chars[(aEnd + 2)..<bEnd]
            let repl = Array("((") + a + Array(")/(") + b + Array("))")
            chars.replaceSubrange(r...bEnd, with: repl)
            searchFrom = r + repl.count
        }
        return String(chars)
    }

    static func find(_ needle: [Character], in hay: [Character], from: Int) -> Int? {
        guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        for k in from...(hay.count - needle.count) where hay[k..<(k + needle.count)].elementsEqual(needle) { return k }
        return nil
    }

    static func spaced(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == "=" { out += " = " } else if c == "+" { out += " + " } else { out.append(c) }
        }
        return out
    }

    /// A bare top-level list `a, b, c` (no brackets, no thousands groups) in reverse order.
    static func reversedList(_ s: String) -> String? {
        guard s.contains(","), !s.contains("("), !s.contains("["), !s.contains("{"), !s.contains("\\") else { return nil }
        let items = s.split(separator: ",").map { String($0).trimmingSpaces }
        if items.dropFirst().contains(where: { item in item.count == 3 && item.allSatisfy { $0.isNumber } }) { return nil }
        return items.reversed().joined(separator: ", ")
    }

    static func thousands(_ digits: String) -> String {
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0, (digits.count - k) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }
}
