import EnvrunCore
import EnvrunRewards
import EnvrunTasks
import Foundation
import Testing
@testable import EnvrunVerify

/// Seeded fuzzing of everything a model's text goes through on the math path: the verifier's extractor, the
/// lexer and parser, the equivalence check, and the rule rewards' `AnswerExtraction`. Inputs are random bytes,
/// LaTeX token soup, 10 000-deep nesting, very long numbers and mutations of the shipped MATH-500 answers.
/// Every call must return (no crash) within `perCall`, stay inside the work budget, give one of the
/// documented outcomes, and never call two answers built to differ equivalent.
@Suite("math fuzz: extractor, parser, verifier and AnswerExtraction on hostile input")
struct MathFuzzTests {
    /// A hang or a quadratic blow-up on 200 KB is minutes; the slowest legal call is well under a second.
    static let perCall: Duration = .seconds(2)
    static let limits = VerifyLimits()

    // MARK: inputs

    static let pieces: [String] = [
        "\\frac", "\\dfrac", "{", "}", "{", "}", "^", "_", "\\sqrt", "\\sqrt[", "]", "(", ")", "\\left(", "\\right)",
        "\\left[", "\\right]", "\\boxed{", "\\boxed ", "\\fbox{", "10^{99999}", "2^{2^{2^{2^{2}}}}", "10^{10^{10}}",
        "9999999999999999999999999999", "0.", "\\overline{", "1e-320", "1E400", "\\infty", "\\pi", "e", "i", "x", "y",
        "\\text{", "\\mathbb{", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "\\,", "\\!", "{,}", ",", ";",
        "=", "<", "\\le", "\\pm", "\\cup", "\\{", "\\}", "|", "\\lfloor", "\\rceil", "!", "%", "^\\circ", "°",
        "\\binom", "\\choose", "\\log_", "\\sin", "\\arcsin", "_{16}", "_2", "\\in", "####", "The answer is ",
        "Final Answer: ", "**", "$", "$$", "\n", " ", "\u{0}", "π", "√", "∞", "±", "≤", "−", "²", "é", "😀", "\u{301}",
        "\u{FEFF}", "\u{202E}", "\u{D7FF}", "\\", "\\\\\\", "\\q", "\\unknowncommand", "-", "+", "*", "**", "/",
        "0", "1", "7", "3.14", ".5", "1,234", "10\\,000",
    ]

    /// Interesting bytes more often than uniform ones, so random byte strings hit the lexer's branches.
    static func randomBytes(_ rng: inout SplitMix64, count: Int) -> [UInt8] {
        let special = Array("\\{}^_()[]$#,.-+*/!%&|=<> \n0123456789abcdefxyz".utf8) + [0, 0x7F, 0xC3, 0xA9, 0xE2, 0x88,
                                                                                         0x9E, 0xF0, 0x9F, 0xFF, 0x80]
        return (0..<count).map { _ in
            rng.int(in: 0...2) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : special[rng.int(in: 0...special.count - 1)]
        }
    }

    static func soup(_ rng: inout SplitMix64, maxPieces: Int = 40) -> String {
        (0..<rng.int(in: 1...maxPieces)).map { _ in pieces[rng.int(in: 0...pieces.count - 1)] }.joined()
    }

    /// Deletes, inserts (a piece or a random scalar), duplicates or truncates, one to six times.
    static func mutate(_ s: String, _ rng: inout SplitMix64) -> String {
        var u = Array(s.unicodeScalars)
        for _ in 0..<rng.int(in: 1...6) {
            let at = rng.int(in: 0...u.count)
            switch rng.int(in: 0...5) {
            case 0 where !u.isEmpty: u.remove(at: min(at, u.count - 1))
            case 1: u.insert(contentsOf: pieces[rng.int(in: 0...pieces.count - 1)].unicodeScalars, at: at)
            case 2: u.insert(Unicode.Scalar(UInt32(rng.int(in: 0...0xD7FF))) ?? "?", at: at)
            case 3 where !u.isEmpty:
                let k = min(at, u.count - 1)
                u.insert(contentsOf: u[k...].prefix(rng.int(in: 1...12)), at: k)
            case 4: u = Array(u.prefix(at))
            default: u.append(contentsOf: pieces[rng.int(in: 0...pieces.count - 1)].unicodeScalars)
            }
        }
        var out = ""
        out.unicodeScalars.append(contentsOf: u)
        return out
    }

    /// Openers repeated 10 000 times, with and without their closers.
    static let deep: [String] = {
        let n = 10_000
        let pairs: [(String, String)] = [
            ("{", "}"), ("(", ")"), ("[", "]"), ("\\frac{", "}{2}"), ("\\sqrt{", "}"), ("\\left(", "\\right)"),
            ("\\boxed{", "}"), ("\\{", "\\}"), ("|", "|"), ("\\lfloor ", "\\rfloor"), ("2^{", "}"), ("x_{", "}"),
            ("\\text{", "}"), ("-", ""), ("2^", ""), ("\\sqrt", ""), ("\\frac1", ""), ("\\begin{pmatrix}", "\\end{pmatrix}"),
            ("\\overline{", "}"), ("\\fbox{", "}"), ("(1,", ")"), ("\\binom{", "}{1}"),
        ]
        var out: [String] = []
        for (open, close) in pairs {
            let o = String(repeating: open, count: n)
            out.append(o + "1" + String(repeating: close, count: n))
            if !close.isEmpty { out.append(o + "1") }
        }
        out.append(String(repeating: "9", count: 150_000))
        out.append("0." + String(repeating: "3", count: 150_000))
        out.append(String(repeating: "1,", count: 60_000) + "1")
        out.append(String(repeating: "\\boxed{", count: 25_000))
        out.append(String(repeating: "\\boxed{1}", count: 20_000))
        out.append(String(repeating: "answer is ", count: 18_000))
        out.append(String(repeating: "####", count: 45_000))
        out.append(String(repeating: "**", count: 90_000))
        out.append(String(repeating: "\u{0}", count: 150_000))
        out.append(String(repeating: "😀", count: 45_000))
        out.append(String(repeating: "e\u{301}", count: 60_000))
        out.append(String(repeating: "\n", count: 150_000))
        out.append(String(repeating: "```\n", count: 45_000))
        return out
    }()

    static let math500: [String] = {
        let url = shippedPacks.appendingPathComponent("math500/tasks.jsonl.gz")
        return ((try? TaskFile.read(url)) ?? []).compactMap(\.answer)
    }()

    // MARK: checks

    static func timed<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        let value = try body()
        let took = ContinuousClock.now - start
        #expect(took < perCall, "\(took) for \(what())")
        return value
    }

    static func show(_ s: String) -> String {
        let scalars = s.unicodeScalars
        let head = String(String.UnicodeScalarView(scalars.prefix(80))).debugDescription
        return scalars.count > 80 ? "\(head)… (\(s.utf8.count) bytes)" : head
    }

    /// One `verify` call: returns in time, inside the budget, with a documented outcome; deterministic.
    @discardableResult
    static func verify(_ gold: String, _ pred: String) -> VerifyResult {
        let v = MathVerifier()
        let r = timed("verify \(show(gold)) | \(show(pred))") { v.verify(gold: gold, pred: pred) }
        #expect(r.work >= 0 && r.work <= limits.maxWork, "work \(r.work): \(show(gold)) | \(show(pred))")
        switch r.status {
        case .ok:
            #expect(r.goldParsed != nil && r.predParsed != nil, "ok without parsed forms: \(show(gold)) | \(show(pred))")
        case .unparseable, .undecided, .error:
            #expect(!r.equivalent && r.message != nil, "\(r.status) but \(r): \(show(gold)) | \(show(pred))")
        }
        return r
    }

    /// The extractors and the parser on one text.
    static func extractAndParse(_ text: String) {
        let extracted = timed("extract \(show(text))") { AnswerExtractor().extract(from: text) }
        if let extracted {
            #expect(extracted.utf8.count <= text.utf8.count, "extracted more than the input: \(show(text))")
        }
        if text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) {
            #expect(extracted != nil, "a text with a digit gave no answer: \(show(text))")
        }
        _ = timed("extractGold \(show(text))") { AnswerExtractor().extractGold(from: text) }
        let final = timed("finalAnswer \(show(text))") { AnswerExtraction.finalAnswer(text) }
        #expect((final == nil) == text.allSatisfy(\.isWhitespace), "finalAnswer \(final.map(show) ?? "nil"): \(show(text))")
        _ = timed("fencedBlocks \(show(text))") { AnswerExtraction.code(text, entryPoint: "f") }
        // The lexer and parser directly, past the answer-length cap the verifier applies before them.
        timed("lex+parse \(show(text))") {
            let budget = Budget(limits)
            do throws(VerifyFailure) {
                let tokens = try Lexer.lex(text, budget: budget)
                _ = try Parser.parse(tokens, budget: budget).description
            } catch {
                #expect(!error.message.isEmpty)
            }
            #expect(budget.used <= limits.maxWork)
        }
    }

    // MARK: tests

    @Test("random byte strings", arguments: 0..<4)
    func randomBytes(seed: Int) {
        var rng = SplitMix64(seed: 0xB17E_5000 &+ UInt64(seed))
        for _ in 0..<120 {
            let text = String(decoding: Self.randomBytes(&rng, count: rng.int(in: 0...400)), as: UTF8.self)
            Self.extractAndParse(text)
            Self.verify(text, text)
            Self.verify("1", text)
            Self.verify(text, "\\boxed{1}")
        }
    }

    @Test("LaTeX token soup", arguments: 0..<4)
    func tokenSoup(seed: Int) {
        var rng = SplitMix64(seed: 0x50_0B00 &+ UInt64(seed))
        for _ in 0..<120 {
            let a = Self.soup(&rng), b = Self.soup(&rng)
            Self.extractAndParse(a)
            Self.verify(a, b)
            Self.verify(a, a)
            Self.verify("1", "The answer is \\boxed{\(b)}")
        }
    }

    @Test("10 000-deep nesting, very long numbers and repeated markers", arguments: deep.indices)
    func deepInput(index: Int) {
        let s = Self.deep[index]
        Self.extractAndParse(s)
        Self.extractAndParse("\\boxed{" + s + "}")
        Self.verify(s, "1")
        Self.verify("1", s)
        Self.verify(s, s)
        Self.verify("1", "The answer is $" + s + "$.")
    }

    @Test("mutated MATH-500 answers", arguments: 0..<4)
    func mutatedMath500(seed: Int) throws {
        let answers = Self.math500
        try #require(answers.count == 500, "the math500 pack did not load")
        var rng = SplitMix64(seed: 0x3A7_500 &+ UInt64(seed))
        for k in stride(from: seed, to: answers.count, by: 4) {
            let gold = answers[k]
            let m = Self.mutate(gold, &rng)
            Self.extractAndParse(m)
            Self.verify(gold, m)
            Self.verify(m, gold)
            Self.verify(gold, "Reasoning… so the answer is $\\boxed{\(m)}$.")
        }
    }

    @Test("every MATH-500 answer matches itself, boxed in a response")
    func math500Identity() throws {
        try #require(Self.math500.count == 500, "the math500 pack did not load")
        for gold in Self.math500 {
            let r = Self.verify(gold, "We compute step by step.\n\nThe final answer is $\\boxed{\(gold)}$.")
            #expect(r.equivalent, "\(Self.show(gold)): \(r)")
        }
    }

    /// `lastBoxed` as it was before it became one pass: a scan ahead from every marker (quadratic: 10 000
    /// nested boxes took two minutes). The one-pass version must give the same answer on every input.
    static func lastBoxedByScanningAhead(_ text: String) -> String? {
        var best: (position: String.Index, content: String)?
        for marker in ["\\boxed{", "\\fbox{"] {
            var searchStart = text.startIndex
            while let r = text.range(of: marker, range: searchStart..<text.endIndex) {
                var depth = 1
                var i = r.upperBound
                while i < text.endIndex {
                    if text[i] == "{" { depth += 1 } else if text[i] == "}" { depth -= 1 }
                    if depth == 0 { break }
                    i = text.index(after: i)
                }
                if depth == 0, best.map({ r.lowerBound > $0.position }) ?? true {
                    best = (r.lowerBound, String(text[r.upperBound..<i]))
                }
                searchStart = r.upperBound
            }
        }
        return best?.content
    }

    @Test("lastBoxed: linear on 10 000 nested boxes, and the same answers as scanning ahead from every marker")
    func lastBoxedIsLinear() {
        let nested = String(repeating: "\\boxed{", count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(Self.timed("lastBoxed of 10 000 nested boxes") { AnswerExtraction.lastBoxed(nested) } == "1")
        let unclosed = String(repeating: "\\fbox{", count: 25_000) + "\\boxed{2}"
        #expect(Self.timed("lastBoxed of 25 000 unclosed boxes") { AnswerExtraction.lastBoxed(unclosed) } == "2")
        let braces = ["\\boxed{", "\\fbox{", "\\boxed", "{", "}", "}", "\\{", "\\}", "\\", "x", "1", " ", "é", "\u{301}"]
        var rng = SplitMix64(seed: 0xB0C5)
        for _ in 0..<600 {
            let s = (0..<rng.int(in: 0...30)).map { _ in braces[rng.int(in: 0...braces.count - 1)] }.joined()
            #expect(AnswerExtraction.lastBoxed(s) == Self.lastBoxedByScanningAhead(s), "\(Self.show(s))")
        }
    }

    @Test("the parser refuses a 150 000-digit number at once instead of converting it", arguments: [
        String(repeating: "9", count: 150_000), "0." + String(repeating: "3", count: 150_000),
        "0.\\overline{" + String(repeating: "7", count: 150_000) + "}",
    ])
    func hugeNumberInParser(number: String) throws {
        let budget = Budget(Self.limits)
        let tokens = try Lexer.lex(number, budget: budget)
        let start = ContinuousClock.now
        #expect(throws: VerifyFailure.self) { try Parser.parse(tokens, budget: budget) }
        #expect(ContinuousClock.now - start < Self.perCall)  // 110 s (620 s for the decimal) before the charge
        #expect(budget.used <= Self.limits.maxWork)
    }

    // MARK: never flatters

    /// A random integer of 1 to 60 digits, possibly negative.
    static func integer(_ rng: inout SplitMix64) -> String {
        let digits = rng.int(in: 1...60)
        var s = String(rng.int(in: 1...9))
        for _ in 1..<digits { s += String(rng.int(in: 0...9)) }
        return rng.int(in: 0...3) == 0 ? "-" + s : s
    }

    static func wrapped(_ answer: String, _ rng: inout SplitMix64) -> String {
        switch rng.int(in: 0...6) {
        case 0: return answer
        case 1: return "\\boxed{\(answer)}"
        case 2: return "Let me think. 1 + 1 = 2, and 1 is tempting. The answer is $\(answer)$."
        case 3: return "Working…\n#### \(answer)"
        case 4: return "First I got 1, but that was wrong.\n\nFinal Answer: The final answer is $\(answer)$"
        case 5: return "**Final Answer:** \(answer)"
        default: return "$$\\boxed{\\displaystyle \(answer)}$$"
        }
    }

    /// The pair must be decided and not equivalent.
    static func expectDifferent(_ gold: String, _ pred: String) {
        let r = verify(gold, pred)
        #expect(!r.equivalent, "flattered: gold \(show(gold)) pred \(show(pred)) → \(r)")
        #expect(r.status == .ok, "undecided: gold \(show(gold)) pred \(show(pred)) → \(r)")
    }

    @Test("gold 1 against any other integer, in any wrapping", arguments: 0..<4)
    func goldOne(seed: Int) {
        var rng = SplitMix64(seed: 0x0_1E_0001 &+ UInt64(seed))
        for _ in 0..<150 {
            var n = Self.integer(&rng)
            if n == "1" { n = "2" }
            Self.expectDifferent("1", Self.wrapped(n, &rng))
        }
    }

    @Test("constructed different pairs: integers, fractions, polynomials, sets, tuples, intervals", arguments: 0..<4)
    func differentPairs(seed: Int) {
        var rng = SplitMix64(seed: 0xD1FF_0000 &+ UInt64(seed))
        for _ in 0..<60 {
            // a vs a + k
            let a = rng.int(in: -1_000_000...1_000_000), k = rng.int(in: 1...1000) * (rng.int(in: 0...1) == 0 ? 1 : -1)
            Self.expectDifferent(String(a), Self.wrapped(String(a + k), &rng))
            // p/q vs r/s with p·s ≠ r·q
            let p = rng.int(in: -500...500), q = rng.int(in: 1...500)
            var r = rng.int(in: -500...500)
            let s = rng.int(in: 1...500)
            if p * s == r * q { r += 1 }
            Self.expectDifferent("\\frac{\(p)}{\(q)}", Self.wrapped(rng.int(in: 0...1) == 0 ? "\\dfrac{\(r)}{\(s)}" : "\(r)/\(s)", &rng))
            // a polynomial vs the same plus a non-zero constant
            let c = (0..<rng.int(in: 1...4)).map { _ in rng.int(in: -9...9) }
            let poly = c.enumerated().map { "\($1 < 0 ? "-" : "+")\(abs($1))x^{\($0 + 1)}" }.joined()
            Self.expectDifferent("7" + poly, Self.wrapped("\(7 + k)" + poly, &rng))
            // a 20-60 digit integer vs its successor, and their reciprocals: only exact arithmetic tells them apart
            var big = String(rng.int(in: 1...9)) + (0..<rng.int(in: 19...59)).map { _ in String(rng.int(in: 0...9)) }.joined()
            big.removeLast()
            let last = rng.int(in: 0...8)
            let (n, n1) = (big + String(last), big + String(last + 1))
            Self.expectDifferent(n, Self.wrapped(n1, &rng))
            Self.expectDifferent("\\frac{1}{\(n)}", Self.wrapped("\\frac{1}{\(n1)}", &rng))
            Self.expectDifferent("2^{\(rng.int(in: 60...400))}", Self.wrapped("2^{\(rng.int(in: 401...800))}", &rng))
            // sets differing in one element, tuples in order, intervals in one end
            let x = rng.int(in: -50...50), y = x + rng.int(in: 1...50)
            Self.expectDifferent("\\{\(x), \(y)\\}", Self.wrapped("\\{\(x), \(y + 1)\\}", &rng))
            Self.expectDifferent("(\(x), \(y))", Self.wrapped("(\(y), \(x))", &rng))
            Self.expectDifferent("[\(x), \(y))", Self.wrapped("[\(x), \(y)]", &rng))
        }
    }

    @Test("MATH-500 integer answers against a shifted integer")
    func math500Shifted() throws {
        try #require(Self.math500.count == 500, "the math500 pack did not load")
        var rng = SplitMix64(seed: 0x500_5_1F7)
        let integers = Self.math500.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(integers.count > 200)
        for n in integers {
            let k = rng.int(in: 1...20) * (rng.int(in: 0...1) == 0 ? 1 : -1)
            Self.expectDifferent(String(n), Self.wrapped(String(n + k), &rng))
        }
    }
}
