import EnvrunCore
import Foundation

/// BERT's uncased tokenizer: clean-up, CJK spacing, lower-casing, accent stripping, punctuation split, then
/// greedy longest-match-first WordPiece against `vocab.txt`, wrapped in `[CLS] … [SEP]` and truncated.
/// Behaves as Hugging Face's `BertTokenizer` with `do_lower_case=True` (the all-MiniLM-L6-v2 settings).
public struct WordPieceTokenizer: Sendable {
    public enum TruncationSide: String, Sendable, Codable { case right, left }

    public let vocab: [String: Int32]
    public let clsID: Int32
    public let sepID: Int32
    public let unkID: Int32
    public let padID: Int32
    public var maxInputCharsPerWord = 100

    public init(vocabPath: String) throws {
        let text: String
        do { text = try String(contentsOfFile: vocabPath, encoding: .utf8) } catch {
            throw EnvrunError(.notFound, "cannot read vocab.txt (run scripts/setup.sh)", field: vocabPath)
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        try self.init(tokens: lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }, source: vocabPath)
    }

    public init(tokens: [String], source: String = "<vocab>") throws {
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = Int32(i) }
        func id(_ t: String) throws -> Int32 {
            guard let v = vocab[t] else { throw EnvrunError(.invalidInput, "vocabulary has no \(t) token", field: source) }
            return v
        }
        self.vocab = vocab
        clsID = try id("[CLS]")
        sepID = try id("[SEP]")
        unkID = try id("[UNK]")
        padID = try id("[PAD]")
    }

    /// `[CLS] pieces… [SEP]`, at most `maxLength` ids; `left` keeps the end of a long text (a dialogue's
    /// latest turns), `right` its beginning.
    public func encode(_ text: String, maxLength: Int = 256, truncation: TruncationSide = .right) -> [Int32] {
        var ids = wordPieceIDs(text)
        let room = max(0, maxLength - 2)
        if ids.count > room {
            ids = truncation == .right ? Array(ids.prefix(room)) : Array(ids.suffix(room))
        }
        return [clsID] + ids + [sepID]
    }

    /// The WordPiece ids of `text`, without special tokens or truncation.
    public func wordPieceIDs(_ text: String) -> [Int32] {
        var out: [Int32] = []
        for word in Self.basicTokens(text) { appendPieces(of: word, to: &out) }
        return out
    }

    /// The WordPiece strings (for tests and debugging).
    public func pieces(_ text: String) -> [String] {
        var inverse = [Int32: String]()
        for (k, v) in vocab { inverse[v] = k }
        return wordPieceIDs(text).map { inverse[$0] ?? "[UNK]" }
    }

    func appendPieces(of word: [Unicode.Scalar], to out: inout [Int32]) {
        if word.count > maxInputCharsPerWord {
            out.append(unkID)
            return
        }
        var start = 0
        var pieces: [Int32] = []
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                var s = start > 0 ? "##" : ""
                s.unicodeScalars.append(contentsOf: word[start..<end])
                if let v = vocab[s] {
                    found = v
                    break
                }
                end -= 1
            }
            guard let found else {
                out.append(unkID)
                return
            }
            pieces.append(found)
            start = end
        }
        out.append(contentsOf: pieces)
    }

    // MARK: - Basic tokenizer

    /// Clean-up, CJK spacing, NFC, whitespace split, lower-case + strip accents, punctuation split.
    static func basicTokens(_ text: String) -> [[Unicode.Scalar]] {
        var spaced = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD || isControl(s) { continue }
            if isWhitespace(s) {
                spaced.append(" ")
            } else if isCJK(v) {
                spaced.append(" ")
                spaced.append(s)
                spaced.append(" ")
            } else {
                spaced.append(s)
            }
        }
        let normalized = String(spaced).precomposedStringWithCanonicalMapping
        var tokens: [[Unicode.Scalar]] = []
        for raw in normalized.split(separator: " ", omittingEmptySubsequences: true) {
            let folded = String(raw).lowercased().decomposedStringWithCanonicalMapping
            var current: [Unicode.Scalar] = []
            for s in folded.unicodeScalars {
                if s.properties.generalCategory == .nonspacingMark { continue }
                if isPunctuation(s) {
                    if !current.isEmpty { tokens.append(current) }
                    tokens.append([s])
                    current = []
                } else {
                    current.append(s)
                }
            }
            if !current.isEmpty { tokens.append(current) }
        }
        return tokens
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s == " " || s == "\t" || s == "\n" || s == "\r" { return true }
        return s.properties.generalCategory == .spaceSeparator
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        let c = s.properties.generalCategory
        return c == .control || c == .format
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
