import Foundation

/// Reads a judge's output: the last well-formed `\boxed{s1, s2, …}` wins (markdown bold, per-criterion
/// scores and quoted text before it are normal), where a box right after a `Scores` label beats a later
/// unlabelled one (a judge that quotes a response's own `\boxed{42}` after its verdict). A cut-off output
/// (`finish_reason: length`) is never read: its box may be a quoted one, and the real verdict is missing.
public enum ScoreParser {
    public struct Parsed: Sendable, Equatable {
        public var scores: [Int]
        /// The text before `Analysis:` after `Specific Criteria:` (the principles), when present.
        public var principles: String?
        public var critique: String?
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable { case noBox = "no_box", wrongCount = "wrong_count", outOfRange = "out_of_range", truncated }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    public static let scoreRange = 1...10
    /// Outputs longer than this are read only at their end (a babbling judge costs bounded work).
    static let maxScan = 64 * 1024

    /// `quoted`: the responses shown to the judge. A box whose line (from the line's start to the box's end)
    /// appears verbatim in one of them is the judge quoting a response, never its verdict.
    public static func parse(
        _ text: String, count: Int, finishReason: String? = nil, quoted: [String] = []
    ) -> Result<Parsed, Failure> {
        if finishReason == "length" {
            return .failure(Failure(kind: .truncated, message: "the judge's output was cut off at max_tokens before its verdict"))
        }
        let scanned = text.utf8.count > maxScan ? String(decoding: Array(text.utf8.suffix(maxScan)), as: UTF8.self) : text
        let boxes = wellFormedBoxes(scanned).filter { box in !quoted.contains { $0.contains(box.line) } }
        guard let chosen = boxes.last(where: \.labelled) ?? boxes.last else {
            return .failure(Failure(kind: .noBox, message: "no \\boxed{…} of integers in the judge's output"))
        }
        guard chosen.values.count == count else {
            return .failure(Failure(
                kind: .wrongCount, message: "the judge gave \(chosen.values.count) scores for \(count) responses"))
        }
        if let bad = chosen.values.first(where: { !scoreRange.contains($0) }) {
            return .failure(Failure(kind: .outOfRange, message: "score \(bad) is outside 1-10"))
        }
        return .success(Parsed(
            scores: chosen.values, principles: section(scanned, "Specific Criteria:", until: "Analysis:"),
            critique: section(scanned, "Analysis:", until: "Scores")))
    }

    struct Box {
        var values: [Int]
        /// Anchored to a `Scores` label that starts its line, with only spacing, `:`, `*`, `$`, `\[` or `\(`
        /// between the label and the box (so "final score \boxed{…}" inside quoted text is not a label).
        var labelled: Bool
        /// The box's line up to its end, trimmed: what a quote of a response would reproduce.
        var line: String
    }

    /// Every `\boxed{…}` whose balanced content is a comma-separated list of integers (bold marks allowed
    /// around the numbers).
    static func wellFormedBoxes(_ text: String) -> [Box] {
        let u = Array(text.utf8)
        let marker = Array("\\boxed{".utf8)
        var out: [Box] = []
        var i = 0
        while i + marker.count <= u.count {
            guard u[i] == UInt8(ascii: "\\"), Array(u[i..<i + marker.count]) == marker else {
                i += 1
                continue
            }
            var depth = 1
            var j = i + marker.count
            while j < u.count, depth > 0, j - i < 512 {
                if u[j] == UInt8(ascii: "{") { depth += 1 } else if u[j] == UInt8(ascii: "}") { depth -= 1 }
                j += 1
            }
            guard depth == 0 else {
                i += marker.count
                continue
            }
            let content = String(decoding: u[(i + marker.count)..<(j - 1)], as: UTF8.self)
            if let values = integers(content) {
                let before = String(decoding: u[max(0, i - 200)..<i], as: UTF8.self)
                let lineStart = (before.lastIndex(of: "\n").map { before.index(after: $0) }) ?? before.startIndex
                let line = (before[lineStart...] + String(decoding: u[i..<j], as: UTF8.self))
                    .trimmingCharacters(in: .whitespaces)
                out.append(Box(values: values, labelled: anchored(before), line: line))
            }
            i = j
        }
        return out
    }

    /// Whether `before` (the text just before a box) ends with a `Scores` label at the start of a line,
    /// followed only by filler — possibly over a line break (`Scores:\n\[\boxed{…}\]`).
    static func anchored(_ before: String) -> Bool {
        let filler = Set(" \t\n\r:*$`[(\\")
        var rest = Substring(before)
        while let last = rest.last, filler.contains(last) { rest.removeLast() }
        guard rest.lowercased().hasSuffix("scores") || rest.lowercased().hasSuffix("score") else { return false }
        rest = rest.dropLast(rest.lowercased().hasSuffix("scores") ? 6 : 5)
        for word in ["final ", "overall "] where rest.lowercased().hasSuffix(word) { rest = rest.dropLast(word.count) }
        // The label must start its line: before it only `#`, `*`, `-`, `>` or spaces since the line break.
        while let last = rest.last, last != "\n" {
            guard " \t#*->".contains(last) else { return false }
            rest.removeLast()
        }
        return true
    }

    static func integers(_ content: String) -> [Int]? {
        let parts = content.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Int] = []
        for part in parts {
            var t = part.trimmingCharacters(in: .whitespaces)
            while t.hasPrefix("*") { t.removeFirst() }
            while t.hasSuffix("*") { t.removeLast() }
            guard !t.isEmpty, t.count <= 4, t.allSatisfy(\.isASCIIDigit), let v = Int(t) else { return nil }
            values.append(v)
        }
        return values.isEmpty ? nil : values
    }

    static func section(_ text: String, _ start: String, until end: String) -> String? {
        guard let s = text.range(of: start, options: .backwards) else { return nil }
        let rest = text[s.upperBound...]
        let stop = rest.range(of: end)?.lowerBound ?? rest.endIndex
        let out = rest[..<stop].trimmingCharacters(in: .whitespacesAndNewlines)
        return out.isEmpty ? nil : String(out.prefix(4000))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
