import EnvrunCore
import Foundation

/// The `tiny` policy's vocabulary and number format: the digits, `+`, `=` and an end token.
///
/// Operands and answers are written least-significant digit first and zero-padded to a fixed width
/// ("123 + 45" is read as `321+540=`, and 168 is written `8610`). Reversed digits put each carry in
/// generation order: the model has seen both digits of a place and the carry into it before it writes
/// that place, so one left-to-right pass can add; written the usual way, the first digit it must emit
/// depends on every carry to come. Fixed widths make every prompt the same length, so a batch is aligned
/// and needs no padding on the prompt side. The text the Environment scores is the answer turned back
/// the usual way round ("0168": a leading zero is padding; the math verifier reads 168).
public struct DigitCodec: Sendable, Equatable, Codable {
    public static let plus: Int32 = 10, equals: Int32 = 11, end: Int32 = 12
    public static let vocabulary = 13

    /// Digits per operand.
    public var width: Int
    public var operands: Int = 2

    public init(width: Int) { self.width = width }

    public var promptLength: Int { operands * width + operands }
    /// Width + 1 digits (the carry out) and the end token.
    public var maxResponseTokens: Int { width + 2 }
    public var context: Int { promptLength + maxResponseTokens }

    /// The operands of the first sum in a prompt: "What is 123 + 45? …" → ["123", "45"]. The policy has no
    /// letters, so it reads the pack's rendered prompt for the one thing it understands.
    public static func operands(in prompt: String) -> [String]? {
        guard let re = try? NSRegularExpression(pattern: #"(\d+)\s*\+\s*(\d+)"#),
            let m = re.firstMatch(in: prompt, range: NSRange(prompt.startIndex..., in: prompt))
        else { return nil }
        return (1..<m.numberOfRanges).compactMap { Range(m.range(at: $0), in: prompt).map { String(prompt[$0]) } }
    }

    /// "… 123 + 45 …" → tokens of `321+540=`.
    public func encodePrompt(_ prompt: String) throws -> [Int32] {
        let parts = Self.operands(in: prompt) ?? []
        guard parts.count == operands,
            parts.allSatisfy({ !$0.isEmpty && $0.count <= width && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } })
        else {
            throw EnvrunError(
                .invalidInput,
                "the tiny policy reads sums of \(operands) non-negative integers of at most \(width) digits (got \"\(prompt.prefix(60))\")",
                field: "prompt")
        }
        var out: [Int32] = []
        for (i, p) in parts.enumerated() {
            let digits = p.utf8.reversed().map { Int32($0) - 48 }
            out += digits + [Int32](repeating: 0, count: width - digits.count)
            out.append(i == operands - 1 ? Self.equals : Self.plus)
        }
        return out
    }

    /// The gold answer as response tokens: width + 1 reversed digits and the end token.
    public func encodeAnswer(_ answer: String) throws -> [Int32] {
        let digits = answer.utf8.reversed().map { Int32($0) - 48 }
        guard digits.count <= width + 1, digits.allSatisfy({ (0...9).contains($0) }) else {
            throw EnvrunError(.invalidInput, "answer \"\(answer.prefix(40))\" does not fit \(width + 1) digits", field: "answer")
        }
        return digits + [Int32](repeating: 0, count: width + 1 - digits.count) + [Self.end]
    }

    /// Response tokens → the text the Environment scores (up to the end token, turned the usual way round).
    public func decode(_ tokens: [Int32]) -> String {
        var chars: [Character] = []
        for t in tokens {
            if t == Self.end { break }
            switch t {
            case 0...9: chars.append(Character(String(t)))
            case Self.plus: chars.append("+")
            case Self.equals: chars.append("=")
            default: chars.append("?")
            }
        }
        return String(chars.reversed())
    }
}
