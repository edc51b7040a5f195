import Foundation

/// Where the extractor looks for the final answer in a model response, in order of preference.
public struct AnswerExtractor: Sendable {
    public var options: VerifyOptions
    public init(options: VerifyOptions = VerifyOptions()) { self.options = options }

    /// The final answer in a whole response: `\boxed{}`/`\fbox{}` (last, or all), `#### N`, "The answer is …",
    /// "Final Answer: …", the whole response when it is short, and the last number as a fallback. nil when
    /// nothing looks like an answer.
    public func extract(from response: String) -> String? {
        var text = response
        return text.withUTF8 { extract(bytes: $0) }
    }

    private func extract(bytes u: UnsafeBufferPointer<UInt8>) -> String? {
        let boxes = AnswerExtractor.boxes(in: u)
        if !boxes.isEmpty {
            return options.allBoxes && boxes.count > 1 ? boxes.joined(separator: ", ") : boxes.last
        }
        if let k = AnswerExtractor.lastIndex(of: Array("####".utf8), in: u) {
            var end = k + 4
            while end < u.count, u[end] != 0x0A { end += 1 }
            let t = String(decoding: UnsafeBufferPointer(rebasing: u[(k + 4)..<end]), as: UTF8.self).trimmingSpaces
            if !t.isEmpty { return t }
        }
        if let phrase = AnswerExtractor.afterAnswerPhrase(u) { return phrase }
        // Nothing marks an answer: the response's last math environment is its answer (see `finalMath`).
        switch AnswerExtractor.finalMath(AnswerExtractor.mathEnvironments(in: u), in: u) {
        case .answer(let math): return math
        case .refused: return nil
        case .none: break
        }
        if u.count <= options.shortAnswerLength * 4, !u.contains(0x0A) || AnswerExtractor.onlyTrailingNewlines(u) {
            let trimmed = AnswerExtractor.stripMarkdownBold(String(decoding: u, as: UTF8.self)).trimmingSpaces
            if !trimmed.isEmpty, trimmed.unicodeScalars.count <= options.shortAnswerLength,
                AnswerExtractor.plainWords(in: trimmed) <= 3 {
                return trimmed
            }
        }
        if options.lastNumberFallback, let n = AnswerExtractor.lastNumber(in: u) { return n }
        return nil
    }

    static func onlyTrailingNewlines(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = u.firstIndex(of: 0x0A) else { return true }
        return u[first...].allSatisfy { $0 == 0x0A || $0 == 0x0D || $0 == 0x20 }
    }

    /// Start of the last occurrence of `needle` (bytes), or nil.
    static func lastIndex(of needle: [UInt8], in u: UnsafeBufferPointer<UInt8>) -> Int? {
        guard u.count >= needle.count, let first = needle.first else { return nil }
        var k = u.count - needle.count
        while k >= 0 {
            if u[k] == first {
                var j = 1
                while j < needle.count, u[k + j] == needle[j] { j += 1 }
                if j == needle.count { return k }
            }
            k -= 1
        }
        return nil
    }

    /// The gold answer: boxed or `####` when the gold is a whole solution, else the whole string.
    public func extractGold(from gold: String) -> String {
        var g = gold
        let marked = g.withUTF8 { u in
            ["\\boxed", "\\fbox", "####"].contains { AnswerExtractor.lastIndex(of: Array($0.utf8), in: u) != nil }
        }
        if marked {
            var o = options
            o.lastNumberFallback = false
            if let a = AnswerExtractor(options: o).extract(from: gold) { return a }
        }
        return gold.trimmingSpaces
    }

    /// Contents of every `\boxed{…}` / `\fbox{…}` (and `\boxed 5`), nested braces respected.
    static func boxes(in s: String) -> [String] {
        var t = s
        return t.withUTF8 { boxes(in: $0) }
    }

    static func boxes(in u: UnsafeBufferPointer<UInt8>) -> [String] {
        var out: [String] = []
        var i = 0
        let boxed = Array("\\boxed".utf8), fbox = Array("\\fbox".utf8)
        while i < u.count {
            guard u[i] == UInt8(ascii: "\\") else { i += 1; continue }
            let name: [UInt8]
            if u[i...].starts(with: boxed) { name = boxed } else if u[i...].starts(with: fbox) { name = fbox } else {
                i += 1
                continue
            }
            var j = i + name.count
            while j < u.count, u[j] == UInt8(ascii: " ") { j += 1 }
            guard j < u.count else { break }
            if u[j] == UInt8(ascii: "{") {
                var level = 0
                var k = j
                while k < u.count {
                    if u[k] == UInt8(ascii: "\\") { k += 2; continue }
                    if u[k] == UInt8(ascii: "{") { level += 1 }
                    if u[k] == UInt8(ascii: "}") { level -= 1; if level == 0 { break } }
                    k += 1
                }
                guard k < u.count else { break }  // unclosed: ignore
                out.append(String(decoding: UnsafeBufferPointer(rebasing: u[(j + 1)..<k]), as: UTF8.self).trimmingSpaces)
                i = k + 1
            } else if i + name.count < u.count, u[i + name.count] == UInt8(ascii: " ") {
                // `\boxed 5`: up to the next space or `$`.
                var k = j
                while k < u.count, u[k] != UInt8(ascii: " "), u[k] != UInt8(ascii: "$"), u[k] != UInt8(ascii: "\n") { k += 1 }
                out.append(String(decoding: UnsafeBufferPointer(rebasing: u[j..<k]), as: UTF8.self))
                i = k
            } else {
                i = j
            }
        }
        return out
    }

    /// The text after the last "answer is" / "answer:" (also "Final Answer:"), cut at the end of its sentence.
    static func afterAnswerPhrase(_ u: UnsafeBufferPointer<UInt8>) -> String? {
        let word = Array("answer".utf8)
        var k = u.count - word.count
        var start: Int? = nil
        while k >= 0, start == nil {
            defer { k -= 1 }
            guard u[k] | 0x20 == word[0] else { continue }
            var j = 1
            while j < word.count, u[k + j] | 0x20 == word[j] { j += 1 }
            guard j == word.count else { continue }
            var m = k + word.count
            while m < u.count, u[m] == 0x20 { m += 1 }
            if m < u.count, u[m] == UInt8(ascii: ":") {
                start = m + 1
            } else if m + 1 < u.count, u[m] | 0x20 == UInt8(ascii: "i"), u[m + 1] | 0x20 == UInt8(ascii: "s"),
                m + 2 >= u.count || !(u[m + 2] | 0x20 >= 0x61 && u[m + 2] | 0x20 <= 0x7A) {
                start = m + 2
            }
        }
        guard let s0 = start else { return nil }
        var end = s0
        while end < u.count, u[end] != 0x0A { end += 1 }
        // An answer is at most a few thousand characters: a longer line is cut before any work on it.
        end = min(end, s0 + 8_000)
        let line = String(decoding: UnsafeBufferPointer(rebasing: u[s0..<end]), as: UTF8.self)
        guard let phrase = cutSentence(Substring(line)) else { return nil }
        return valueInProse(phrase) ?? phrase
    }

    /// What the last math environment says, when nothing marks an answer.
    enum FinalMath: Equatable {
        /// The answer: the last environment, or the run of environments it ends (`$x=3$ or $x=5$` is the
        /// list of both, so a hedge is not one answer).
        case answer(String)
        /// The response negates it ("cannot be $12$", "$2$ is extraneous"): no answer at all.
        case refused
        /// Not the answer: a number follows it in the text ("We have $a=18$. Subtracting 2 gives 16."), so the
        /// later fallbacks decide; or there is no math.
        case none
    }

    static let negations = [" not ", "n't ", "cannot", "wrong", "incorrect", "extraneous", "never ", "instead of",
                            "rather than", "impossible"]
    static let variableIntroductions = ["for all", "for every", "for any", "for each", "where", "real", "in terms of"]

    static func finalMath(_ maths: [(at: Int, end: Int, text: String)], in u: UnsafeBufferPointer<UInt8>) -> FinalMath {
        guard var k = maths.indices.last else { return .none }
        func text(_ a: Int, _ b: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: u[max(0, a)..<max(max(0, a), b)]), as: UTF8.self).lowercased()
        }
        // A bare letter after the answer names a variable ("… for all real $t$"), not the answer.
        if k > 0, isBareLetter(maths[k].text),
            variableIntroductions.contains(where: { text(maths[k].at - 24, maths[k].at).contains($0) }) {
            k -= 1
        }
        if u[maths[k].end...].contains(where: { $0 >= 48 && $0 <= 57 }) { return .none }
        // The words before it in its sentence (or since the environment before it).
        var from = maths[k].at
        let floor = k > 0 ? maths[k - 1].end : 0
        while from > floor, u[from - 1] != UInt8(ascii: "."), u[from - 1] != 0x0A { from -= 1 }
        let lead = " " + text(from, maths[k].at)
        let trail = text(maths[k].end, min(u.count, maths[k].end + 40)) + " "
        if negations.contains(where: { lead.contains($0) || trail.hasPrefix(" is" + $0) || trail.contains($0) }) {
            return .refused
        }
        // Environments joined only by separators are one list.
        var first = k
        while first > 0 {
            let between = text(maths[first - 1].end, maths[first].at)
                .replacingOccurrences(of: "\\text", with: "").filter { !" ,{}".contains($0) }
            guard between.isEmpty || between == "or" || between == "and" else { break }
            first -= 1
        }
        if first < k { return .answer(maths[first...k].map(\.text).joined(separator: ", ")) }
        return .answer(maths[k].text)
    }

    /// The value a prose answer states: "the smallest $k$ is 21" → `21`, "we get $x = 4$" → `x = 4`; nil
    /// when the phrase is not prose (it is the answer as it stands) or names no value.
    static func valueInProse(_ phrase: String) -> String? {
        guard plainWords(in: phrase) > 0 else { return nil }
        // A hedge or a negation states no value ("I cannot determine whether $k$ is 21", "perhaps k is 21").
        let words = Set(phrase.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }).map(String.init))
        guard words.isDisjoint(with: hedgeWords) else { return nil }
        for verb in [" is ", " are ", " equals ", " = "] {
            guard let r = phrase.range(of: verb, options: .backwards) else { continue }
            var tail = String(phrase[r.upperBound...]).trimmingSpaces
            while let last = tail.last, ".,;!".contains(last) { tail.removeLast() }
            var t = tail
            let maths = t.withUTF8 { mathEnvironments(in: $0) }
            if maths.count == 1, tail.hasPrefix("$") || tail.hasPrefix("\\(") { return maths[0].text }
            if !tail.isEmpty, plainWords(in: tail) == 0, !tail.contains("$") { return tail }
            break
        }
        var t = phrase
        let maths = t.withUTF8 { mathEnvironments(in: $0) }
        return maths.count == 1 ? maths[0].text : nil
    }

    static let hedgeWords: Set<String> = [
        "whether", "if", "suppose", "assume", "assuming", "perhaps", "maybe", "might", "could", "not", "false",
        "cannot", "can't", "unknown", "unclear", "either", "or", "possibly", "probably", "guess",
    ]

    /// The contents of the inline and display math in a text — `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` — in order,
    /// trimmed; empty ones and prose left out. A `$` that reads as a price is not math: an inline pair that
    /// spans a line, holds GSM8K's `<<…>>` calculator notes or prose, ends in `=`, follows a digit ("45$"),
    /// opens on a digit and closes after a space ("$5 and $10"), or closes right before a digit or a `<<`
    /// note. Such a `$` is skipped and pairing goes on from the next one, so later pairs are still found.
    /// One pass to find the delimiters, then each stretch between two `$` is looked at once: O(length).
    static func mathEnvironments(in u: UnsafeBufferPointer<UInt8>) -> [(at: Int, end: Int, text: String)] {
        let dollar = UInt8(ascii: "$"), backslash = UInt8(ascii: "\\"), newline = UInt8(ascii: "\n")
        var found: [(at: Int, end: Int, text: String)] = []
        var dollars: [(at: Int, width: Int)] = []
        func text(_ a: Int, _ b: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: u[a..<b]), as: UTF8.self).trimmingSpaces
        }
        func keep(_ at: Int, _ end: Int, _ t: String) {
            if !t.isEmpty, plainWords(in: t) <= 1 { found.append((at, end, t)) }
        }
        var i = 0
        while i < u.count {
            if u[i] == backslash, i + 1 < u.count {
                let open = u[i + 1]
                guard open == UInt8(ascii: "(") || open == UInt8(ascii: "[") else { i += 2; continue }
                let close = open == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
                var k = i + 2
                while k + 1 < u.count, !(u[k] == backslash && u[k + 1] == close) { k += u[k] == backslash ? 2 : 1 }
                guard k + 1 < u.count else { break }
                keep(i, k + 2, text(i + 2, k))
                i = k + 2
            } else if u[i] == dollar {
                let width = i + 1 < u.count && u[i + 1] == dollar ? 2 : 1
                dollars.append((i, width))
                i += width
            } else {
                i += 1
            }
        }
        func isDigit(_ k: Int) -> Bool { k >= 0 && k < u.count && u[k] >= 48 && u[k] <= 57 }
        var j = 0
        while j + 1 < dollars.count {
            let (a, b) = (dollars[j], dollars[j + 1])
            guard a.width == b.width else { j += 1; continue }
            let start = a.at + a.width, end = b.at
            if a.width == 1 {
                // Checked on the bytes first: most `$` pairs in a GSM8K-style response are prices.
                let body = u[start..<end]
                let lastVisible = body.last { $0 != 0x20 }
                let price = body.contains(newline) || isDigit(a.at - 1) || isDigit(end + 1)
                    || (end + 1 < u.count && u[end + 1] == UInt8(ascii: "<")) || lastVisible == UInt8(ascii: "=")
                    || (isDigit(start) && end > start && (u[end - 1] == 0x20 || u[end - 1] == newline))
                    || zip(body, body.dropFirst()).contains { $0 == UInt8(ascii: "<") && $1 == UInt8(ascii: "<") }
                let t = price ? "" : text(start, end)
                if price || plainWords(in: t) > 1 {
                    j += 1
                    continue
                }
                keep(a.at, end + 1, t)
            } else {
                keep(a.at, end + 2, text(start, end))
            }
            j += 2
        }
        return found.sorted { $0.at < $1.at }
    }

    static func isBareLetter(_ s: String) -> Bool { s.count == 1 && s.first!.isLetter }

    static func cutSentence(_ text: Substring) -> String? {
        var rest = Substring(stripMarkdownBold(String(text))).drop { $0 == " " || $0 == ":" }
        if rest.hasPrefix("$") {
            // `$…$` or `$$…$$`: the math segment.
            let body = rest.drop { $0 == "$" }
            if let end = body.firstIndex(of: "$") { return String(body[..<end]).trimmingSpaces.nonEmpty }
        }
        if let r = rest.range(of: ". ") { rest = rest[..<r.lowerBound] }
        var t = String(rest).trimmingSpaces
        while let last = t.last, last == "." || last == "$" || last == "," { t.removeLast() }
        if t.hasPrefix("\\(") && t.hasSuffix("\\)") { t = String(t.dropFirst(2).dropLast(2)) }
        if t.hasPrefix("\\[") && t.hasSuffix("\\]") { t = String(t.dropFirst(2).dropLast(2)) }
        return t.trimmingSpaces.nonEmpty
    }

    /// Removes Markdown bold markers `**` that touch the ends or whitespace ("**42**", "**Final Answer:** 42"),
    /// keeping a power written `x**2`.
    static func stripMarkdownBold(_ s: String) -> String {
        guard s.contains("**") else { return s }
        let chars = Array(s)
        var out: [Character] = []
        var k = 0
        while k < chars.count {
            if k + 1 < chars.count, chars[k] == "*", chars[k + 1] == "*" {
                let before = k == 0 ? " " : chars[k - 1], after = k + 2 >= chars.count ? " " : chars[k + 2]
                let edge: (Character) -> Bool = { $0.isWhitespace || ":.,;()$".contains($0) }
                if edge(before) || edge(after) {
                    k += 2
                    continue
                }
            }
            out.append(chars[k])
            k += 1
        }
        return String(out)
    }

    /// Runs of 3+ letters not introduced by a backslash: prose rather than an answer when there are many.
    static func plainWords(in s: String) -> Int {
        var count = 0, run = 0, depth = 0
        var escaped = false
        for c in s.unicodeScalars {
            if c.properties.isAlphabetic {
                run += 1
                continue
            }
            // Words inside braces are arguments (`\begin{pmatrix}`, `\text{…}`), not prose.
            if run >= 3 && !escaped && depth == 0 { count += 1 }
            escaped = c == "\\"
            run = 0
            if c == "{" { depth += 1 } else if c == "}" { depth = max(0, depth - 1) }
        }
        if run >= 3 && !escaped && depth == 0 { count += 1 }
        // Unclosed braces: not a clean answer.
        return depth == 0 ? count : Int.max
    }

    /// The last number in the text (`-1,234.5`, `3/4`).
    static func lastNumber(in u: UnsafeBufferPointer<UInt8>) -> String? {
        var k = u.count - 1
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while k >= 0, !isDigit(u[k]) { k -= 1 }
        guard k >= 0 else { return nil }
        let end = k + 1
        while k >= 0, isDigit(u[k]) || u[k] == UInt8(ascii: ",") || u[k] == UInt8(ascii: ".") || u[k] == UInt8(ascii: "/") {
            k -= 1
        }
        if k >= 0, u[k] == UInt8(ascii: "-") { k -= 1 }
        var t = String(decoding: UnsafeBufferPointer(rebasing: u[(k + 1)..<end]), as: UTF8.self)
        while let f = t.first, f == "," || f == "." || f == "/" { t.removeFirst() }
        return t.isEmpty ? nil : t
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
