import EnvrunCore

/// Compares a program's stdout with the expected output, as documented in `Sandbox/harness/README.md`:
///
/// - `ignoreWhitespace` (default): both texts are split on runs of whitespace (space, tab, CR, LF, FF, VT);
///   leading/trailing whitespace and trailing newlines do not matter; the token lists must have equal length.
/// - otherwise (exact mode): the whitespace between tokens must be identical too (so `"1 2\n"` ≠ `"1 2"`).
/// - `floatTolerance` (either mode): two tokens that both parse as decimal numbers match when
///   `|a - b| <= tol` or `|a - b| <= tol * |expected|`; other tokens must be equal byte for byte.
public struct OutputComparator: Sendable {
    public var comparison: OutputComparison

    public init(_ comparison: OutputComparison) {
        self.comparison = comparison
    }

    public func matches(expected: String, got: String) -> Bool {
        if comparison.ignoreWhitespace {
            let e = Self.tokens(expected)
            let g = Self.tokens(got)
            return e.count == g.count && zip(e, g).allSatisfy { tokenMatches(expected: $0, got: $1) }
        }
        if comparison.floatTolerance == nil {
            return expected.utf8.elementsEqual(got.utf8)
        }
        let e = Self.pieces(expected)
        let g = Self.pieces(got)
        guard e.count == g.count else { return false }
        return zip(e, g).allSatisfy { pair in
            pair.0.isSpace ? pair.0.text.elementsEqual(pair.1.text) && pair.1.isSpace
                : !pair.1.isSpace && tokenMatches(expected: pair.0.text, got: pair.1.text)
        }
    }

    func tokenMatches(expected: Substring.UTF8View, got: Substring.UTF8View) -> Bool {
        if expected.elementsEqual(got) { return true }
        guard let tol = comparison.floatTolerance,
            let a = Self.number(expected), let b = Self.number(got)
        else { return false }
        if a == b { return true }  // equal infinities
        let diff = abs(a - b)
        return diff <= tol || diff <= tol * abs(a)
    }

    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    static func tokens(_ s: String) -> [Substring.UTF8View] {
        Substring(s).utf8.split(whereSeparator: isSpace)
    }

    /// Alternating runs of whitespace and of non-whitespace, in order.
    static func pieces(_ s: String) -> [(text: Substring.UTF8View, isSpace: Bool)] {
        let u = Substring(s).utf8
        var out: [(text: Substring.UTF8View, isSpace: Bool)] = []
        var i = u.startIndex
        while i < u.endIndex {
            let space = isSpace(u[i])
            var j = u.index(after: i)
            while j < u.endIndex && isSpace(u[j]) == space { j = u.index(after: j) }
            out.append((u[i..<j], space))
            i = j
        }
        return out
    }

    /// A decimal number: optional sign, digits with an optional fraction, optional exponent.
    /// `inf`, `nan` and hex floats are not numbers here (they must match as text).
    static func number(_ t: Substring.UTF8View) -> Double? {
        var sawDigit = false
        var i = t.startIndex
        func digits() { while i < t.endIndex, t[i] >= 0x30 && t[i] <= 0x39 { sawDigit = true; i = t.index(after: i) } }
        if i < t.endIndex, t[i] == 0x2B || t[i] == 0x2D { i = t.index(after: i) }
        digits()
        if i < t.endIndex, t[i] == 0x2E { i = t.index(after: i); digits() }
        guard sawDigit else { return nil }
        if i < t.endIndex, t[i] == 0x65 || t[i] == 0x45 {
            i = t.index(after: i)
            if i < t.endIndex, t[i] == 0x2B || t[i] == 0x2D { i = t.index(after: i) }
            sawDigit = false
            digits()
            guard sawDigit else { return nil }
        }
        guard i == t.endIndex else { return nil }
        return Double(String(decoding: t, as: UTF8.self))
    }
}
