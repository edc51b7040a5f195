import Testing
import EnvrunCore
@testable import EnvrunVerify

/// Random and mutated LaTeX, deep nesting and huge numbers: no crash, every call inside the work bound,
/// a non-ok status never reported as equivalent, and the same input always gives the same result.
@Suite("fuzz")
struct FuzzTests {
    static let limits = VerifyLimits()
    /// The most one call may use: the budget.
    static let workBound = limits.maxWork

    static let corpus = [
        "\\frac{1}{2}", "\\left( 3, \\frac{\\pi}{2} \\right)", "p - q", "\\sqrt{2}+\\sqrt[3]{5}", "x^2+2x+1",
        "\\{1,2,3\\}", "(-\\infty, 1] \\cup [2, \\infty)", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "y = 2x+1", "1 < x \\le 3", "1011_2", "50\\%", "30^\\circ", "\\text{Sunday}", "\\pm\\sqrt{3}", "3+4i",
        "\\sin^2\\theta", "\\log_2 8", "\\frac{1}{2004!}", "2\\frac{1}{2}", "1,000,000", "0.\\overline{3}",
        "\\binom{10}{3}", "|x-1|", "\\lfloor 2.5 \\rfloor", "e^{i\\pi}", "\\dfrac{\\sqrt{3}}{2}",
    ]
    static let pieces = [
        "\\frac", "{", "}", "^", "_", "!", "\\sqrt", "(", ")", "[", "]", "\\left(", "\\right)", "10^{10^{10}}",
        "1000000!", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "\\pm", "\\infty", "=", "<", ",", "x",
        "\\pi", "e", "i", "0", "9", "\\text{", "\\boxed{", "$", "\\,", "%", "\\cup", "\\{", "\\}", "|", ".",
        "99999999999999999999", "^{-1}", "\\log_", "\\sin", "2^{2^{2^{2^{2}}}}", "\\overline{", "\\dfrac{0}{0}",
    ]

    static func mutate(_ s: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(s)
        for _ in 0..<rng.int(1...6) {
            switch rng.int(0...3) {
            case 0 where !chars.isEmpty: chars.remove(at: rng.int(0...chars.count - 1))
            case 1: chars.insert(contentsOf: pieces[rng.int(0...pieces.count - 1)], at: rng.int(0...chars.count))
            case 2 where !chars.isEmpty:
                let k = rng.int(0...chars.count - 1)
                chars.insert(contentsOf: chars[k...].prefix(8), at: k)
            default: chars.append(contentsOf: pieces[rng.int(0...pieces.count - 1)])
            }
        }
        return String(chars)
    }

    static func randomLatex(_ rng: inout SplitMix64, depth: Int) -> String {
        if depth <= 0 || rng.int(0...3) == 0 {
            return ["x", "y", "2", "17", "0", "\\pi", "e", "i", "3.5", "10^{12}", "\\infty"][rng.int(0...10)]
        }
        let a = randomLatex(&rng, depth: depth - 1), b = randomLatex(&rng, depth: depth - 1)
        switch rng.int(0...11) {
        case 0: return "\\frac{\(a)}{\(b)}"
        case 1: return "\(a)+\(b)"
        case 2: return "\(a)-\(b)"
        case 3: return "{\(a)}^{\(b)}"
        case 4: return "\\sqrt{\(a)}"
        case 5: return "\\left(\(a)\\right)\(b)"
        case 6: return "(\(a), \(b)]"
        case 7: return "\\{\(a), \(b)\\}"
        case 8: return "\\sin(\(a))"
        case 9: return "\(a)!"
        case 10: return "\(a) = \(b)"
        default: return "\\log_{\(a)} \(b)"
        }
    }

    static func check(_ gold: String, _ pred: String) {
        let v = MathVerifier()
        let r = v.verify(gold: gold, pred: pred)
        #expect(r.work <= workBound, "work \(r.work) for \(gold) | \(pred)")
        if r.status != .ok { #expect(!r.equivalent) }
        #expect(v.verify(gold: gold, pred: pred) == r, "not deterministic: \(gold) | \(pred)")
    }

    @Test("mutated answers", arguments: 0..<8)
    func mutated(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ 1)
        for _ in 0..<150 {
            let g = Self.corpus[rng.int(0...Self.corpus.count - 1)]
            Self.check(g, Self.mutate(g, &rng))
            Self.check(Self.mutate(g, &rng), g)
        }
    }

    @Test("random expressions", arguments: 0..<6)
    func random(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &+ 0xABCDEF)
        for _ in 0..<120 {
            Self.check(Self.randomLatex(&rng, depth: 5), Self.randomLatex(&rng, depth: 5))
        }
    }

    static let hostile: [String] = [
        String(repeating: "{", count: 5000) + "1" + String(repeating: "}", count: 5000),
        String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000),
        String(repeating: "\\frac{1}{", count: 800) + "2" + String(repeating: "}", count: 800),
        String(repeating: "\\sqrt{", count: 1000) + "2" + String(repeating: "}", count: 1000),
        String(repeating: "-", count: 1900) + "1",
        "10^10^10", "10^{10^{10}}", "1000000!", "(10^{1000})!", "9^{9^{9^{9}}}", "2^{2^{2^{2^{2}}}}",
        String(repeating: "9", count: 1900), "\\frac{1}{" + String(repeating: "7", count: 1500) + "}",
        "x^{99999999999}", "(x+1)^{2000}", String(repeating: "x+", count: 900) + "x",
        "\\binom{100000}{50000}", "\\log_{2}(2^{3000})", "(1+i)^{100000}", "\\sqrt[100000]{2}",
        "2^{1/10^{30}}", "x^{10^{-30}}", "\\sqrt[10^{30}]{2}", "\\sqrt[10^{30}+1]{-2}", "(-8)^{1/3}",
        "\\binom{10^{30}}{2}", "(10^{30})!", "\\log_{10^{-30}} 2", "\\sin(10^{300})", "e^{10^{10}}",
        "\\lfloor 10^{30} \\rfloor", "(0.5)!", "(-1)!", "0^0", "0^{-1}", "\\frac{0}{0}", "1.5_{2}", "Z_{99}",
        String(repeating: "\\pm 1", count: 40), String(repeating: "1,", count: 900) + "1",
        String(repeating: "\\boxed{", count: 3000), "\\begin{pmatrix}" + String(repeating: "1&", count: 900) + "\\end{pmatrix}",
    ]

    @Test("hostile inputs stay bounded", arguments: hostile)
    func hostileInput(s: String) {
        Self.check(s, "1")
        Self.check("1", s)
        Self.check(s, s)
    }

    @Test func hugeResponseIsBoundedByLength() {
        let long = String(repeating: "The value is 3 and then ", count: 20_000) + "\\boxed{7}"
        let r = MathVerifier().verify(gold: "7", pred: long)
        // Over the length limit is the response's doing: no answer, a 0 (not a masked error).
        #expect(r.status == .unparseable && !r.equivalent)
        let ok = MathVerifier().verify(gold: "7", pred: String(repeating: "words ", count: 20_000) + "\\boxed{7}")
        #expect(ok.equivalent)
    }
}
