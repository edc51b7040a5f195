import Foundation

/// Where the extractor looks for the final answer in a model response, in order of preference.
public struct AnswerExtractor: Sendable {
    public var options: VerifyOptions
    public init(options: VerifyOptions = VerifyOptions()) { self.options = options }

    /// The final answer in a whole response: `\boxed{}`/`\fbox{}` (last, or all), `#### N`, "The answer is …",
    /// "Final Answer: …", the whole response when it is short, and the last number as a fallback. nil when
    /// nothing looks like an answer.
    public func extract(from response: String) -> String? {
        let boxes = AnswerExtractor.boxes(in: response)
        if !boxes.isEmpty {
            return options.allBoxes && boxes.count > 1 ? boxes.joined(separator: ", ") : boxes.last
        }
        if let r = response.range(of: "####", options: .backwards) {
            let rest = response[r.upperBound...]
            let line = rest.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let t = String(line).trimmingSpaces
            if !t.isEmpty { return t }
        }
        if let phrase = AnswerExtractor.afterAnswerPhrase(response) { return phrase }
        let trimmed = response.trimmingSpaces
        if !trimmed.isEmpty, trimmed.count <= options.shortAnswerLength, !trimmed.contains("\n"),
            AnswerExtractor.plainWords(in: trimmed) <= 3 {
            return trimmed
        }
        if options.lastNumberFallback, let n = AnswerExtractor.lastNumber(in: response) { return n }
        return nil
    }

    /// The gold answer: boxed or `####` when the gold is a whole solution, else the whole string.
    public func extractGold(from gold: String) -> String {
        if gold.contains("\\boxed") || gold.contains("\\fbox") || gold.contains("####") {
            var o = options
            o.lastNumberFallback = false
            if let a = AnswerExtractor(options: o).extract(from: gold) { return a }
        }
        return gold.trimmingSpaces
    }

    /// Contents of every `\boxed{…}` / `\fbox{…}` (and `\boxed 5`), nested braces respected.
    static func boxes(in s: String) -> [String] {
        var out: [String] = []
        let u = Array(s.utf8)
        var i = 0
        let boxed = Array("\\boxed".utf8), fbox = Array("\\fbox".utf8)
        while i < u.count {
            guard u[i] == UInt8(ascii: "\\") else { i += 1; continue }
            let name: [UInt8]
            if u[i...].starts(with: boxed) { name = boxed } else if u[i...].starts(with: fbox) { name = fbox } else { i += 1; continue }
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
                out.append(String(decoding: u[(j + 1)..<k], as: UTF8.self).trimmingSpaces)
                i = k + 1
            } else if i + name.count < u.count, u[i + name.count] == UInt8(ascii: " ") {
                // `\boxed 5`: up to the next space or `$`.
                var k = j
                while k < u.count, u[k] != UInt8(ascii: " "), u[k] != UInt8(ascii: "$"), u[k] != UInt8(ascii: "\n") { k += 1 }
                out.append(String(decoding: u[j..<k], as: UTF8.self))
                i = k
            } else {
                i = j
            }
        }
        return out
    }

    static let phrases = ["final answer is", "answer is", "final answer:", "answer:"]

    /// The text after the last "answer is" / "Final Answer:" phrase, cut at the end of its sentence.
    static func afterAnswerPhrase(_ s: String) -> String? {
        let lower = s.lowercased()
        var best: String.Index? = nil
        for p in phrases {
            if let r = lower.range(of: p, options: .backwards), best.map({ r.upperBound > $0 }) ?? true {
                best = r.upperBound
            }
        }
        guard let start = best else { return nil }
        // Lowercasing can change lengths for some scripts; map by offset and bail out if that fails.
        let offset = lower.distance(from: lower.startIndex, to: start)
        guard offset <= s.count else { return nil }
        var rest = Substring(s.dropFirst(offset))
        rest = rest.drop { $0 == " " || $0 == ":" }
        if rest.hasPrefix("$") {
            // `$…$` or `$$…$$`: the math segment.
            let body = rest.drop { $0 == "$" }
            if let end = body.firstIndex(of: "$") { return String(body[..<end]).trimmingSpaces.nonEmpty }
        }
        var line = rest.prefix { $0 != "\n" }
        if let r = line.range(of: ". ") { line = line[..<r.lowerBound] }
        var t = String(line).trimmingSpaces
        while let last = t.last, last == "." || last == "$" || last == "," { t.removeLast() }
        if t.hasPrefix("\\(") && t.hasSuffix("\\)") { t = String(t.dropFirst(2).dropLast(2)) }
        if t.hasPrefix("\\[") && t.hasSuffix("\\]") { t = String(t.dropFirst(2).dropLast(2)) }
        return t.trimmingSpaces.nonEmpty
    }

    /// Runs of 3+ letters not introduced by a backslash: prose rather than an answer when there are many.
    static func plainWords(in s: String) -> Int {
        var count = 0, run = 0
        var escaped = false
        for c in s.unicodeScalars {
            if c.properties.isAlphabetic {
                run += 1
                continue
            }
            if run >= 3 && !escaped { count += 1 }
            escaped = c == "\\"
            run = 0
        }
        if run >= 3 && !escaped { count += 1 }
        return count
    }

    /// The last number in the text (`-1,234.5`, `3/4`).
    static func lastNumber(in s: String) -> String? {
        let u = Array(s.utf8)
        var k = u.count - 1
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while k >= 0, !isDigit(u[k]) { k -= 1 }
        guard k >= 0 else { return nil }
        let end = k + 1
        while k >= 0, isDigit(u[k]) || u[k] == UInt8(ascii: ",") || u[k] == UInt8(ascii: ".") || u[k] == UInt8(ascii: "/") {
            k -= 1
        }
        if k >= 0, u[k] == UInt8(ascii: "-") { k -= 1 }
        var t = String(decoding: u[(k + 1)..<end], as: UTF8.self)
        while let f = t.first, f == "," || f == "." || f == "/" { t.removeFirst() }
        return t.isEmpty ? nil : t
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
