import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

@Suite struct TokenizerTests {
    static let vocab = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",", "!", "un", "##aff", "##able",
        "naive", "cafe", "東", "京", "a", "##b", "'", "s", "it", ".", "##s", "resume",
    ]
    static let tok = try! WordPieceTokenizer(tokens: vocab)

    @Test(arguments: [
        ("Hello, World!", ["hello", ",", "world", "!"]),
        ("unaffable", ["un", "##aff", "##able"]),
        // accents stripped after lower-casing (NFD, drop combining marks), precomposed and combining forms alike
        ("Naïve CAFÉ résumé", ["naive", "cafe", "resume"]),
        ("nai\u{0308}ve cafe\u{0301}", ["naive", "cafe"]),
        // CJK ideographs become words of their own even without spaces
        ("hello東京world", ["hello", "東", "京", "world"]),
        // control and format characters are dropped; unicode spaces split
        ("hel\u{200B}lo\u{00A0}world\u{0007}", ["hello", "world"]),
        ("it's", ["it", "'", "s"]),
        // a word with no WordPiece cover is one [UNK]; pieces of a partial match do not leak out
        ("hellox abbb", ["[UNK]", "a", "##b", "##b", "##b"]),
        ("", []),
        (" \n\t ", []),
    ])
    func basicCases(text: String, expected: [String]) {
        #expect(Self.tok.pieces(text) == expected, "\(text.debugDescription)")
    }

    @Test func longWordsBecomeUnknown() {
        let long = String(repeating: "a", count: 101)
        #expect(Self.tok.pieces(long) == ["[UNK]"])
        let fits = "a" + String(repeating: "b", count: 99)
        #expect(Self.tok.pieces(fits).count == 100)
    }

    @Test func specialTokensAndTruncation() {
        let ids = Self.tok.encode("hello world hello world", maxLength: 4)
        #expect(ids == [2, 5, 6, 3])
        let tail = Self.tok.encode("hello , world !", maxLength: 4, truncation: .left)
        #expect(tail == [2, 6, 8, 3])
        #expect(Self.tok.encode("", maxLength: 8) == [2, 3])
        #expect(Self.tok.encode("hello", maxLength: 512).count == 3)
    }

    @Test func vocabularyWithoutSpecialTokensIsRejected() {
        #expect(throws: EnvrunError.self) { try WordPieceTokenizer(tokens: ["hello", "[CLS]"]) }
    }

    /// The real vocabulary against the independent pure-Python tokenizer in scripts/reference/minilm_numpy.py.
    @Test func matchesThePythonReference() throws {
        guard TestSupport.haveModel else { return }
        let tok = try WordPieceTokenizer(vocabPath: TestSupport.files.vocab)
        let texts = Self.referenceTexts
        let request = try JSONSerialization.data(withJSONObject: ["model_dir": TestSupport.modelDir, "texts": texts])
        let out = try TestSupport.run(
            TestSupport.python, [TestSupport.root + "/scripts/reference/minilm_numpy.py"], stdin: request)
        try #require(out.status == 0, "reference failed: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        let tokens = try #require(json["tokens"] as? [[Int]])
        #expect(tokens.count == texts.count)
        for (text, ref) in zip(texts, tokens) {
            #expect(tok.encode(text, maxLength: 256).map(Int.init) == ref, "\(text.debugDescription)")
        }
    }

    static let referenceTexts = [
        "The quick brown fox jumps over the lazy dog.",
        "Héllo, wörld! Naïve café résumé — “quoted” and ‘single’ marks…",
        "unaffable antidisestablishmentarianism supercalifragilisticexpialidocious",
        "日本語のテキストと中文字符 mixed with English",
        "Emoji 😀🎉 and math: ∑ x² ≤ ∞, tabs\tand\nnewlines\r\n",
        "Ελληνικά, русский текст, العربية, עברית",
        "URLs like https://example.com/a?b=c&d=e#f and e-mail a.b@c.org",
        "Zero\u{200B}width\u{FEFF}chars and\u{00A0}no-break spaces",
        String(repeating: "a", count: 150) + " tail",
        String(repeating: "word ", count: 400),
        "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water, yeast and salt; knead, rise, bake at 230°C.",
    ]
}
