/// Hard limits on the work one `verify` call may do. Every limit is a count, never a clock: the same input
/// always costs the same and always stops at the same point, with no timers, threads or signals.
public struct VerifyLimits: Codable, Sendable, Equatable {
    /// Longest model response scanned by the extractor (characters).
    public var maxResponseLength: Int = 200_000
    /// Longest extracted answer handed to the parser (characters).
    public var maxAnswerLength: Int = 2_000
    /// Deepest nesting of the expression tree (and of braces in the parser).
    public var maxDepth: Int = 48
    /// Most nodes in one parsed expression.
    public var maxNodes: Int = 1_500
    /// Largest |integer exponent| evaluated exactly.
    public var maxExponent: Int = 100_000
    /// Largest n for which n! is evaluated exactly.
    public var maxFactorial: Int = 3_000
    /// Largest size (bits) of any exact intermediate number.
    public var maxBits: Int = 20_000
    /// Total work units for one call (tokens, nodes, evaluations; big-number operations cost by size).
    public var maxWork: Int = 1_000_000
    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxResponseLength, maxAnswerLength, maxDepth, maxNodes, maxExponent, maxFactorial, maxBits, maxWork
    }

    /// Missing keys keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VerifyLimits()
        func get(_ k: CodingKeys, _ v: Int) throws -> Int { try c.decodeIfPresent(Int.self, forKey: k) ?? v }
        maxResponseLength = try get(.maxResponseLength, d.maxResponseLength)
        maxAnswerLength = try get(.maxAnswerLength, d.maxAnswerLength)
        maxDepth = try get(.maxDepth, d.maxDepth)
        maxNodes = try get(.maxNodes, d.maxNodes)
        maxExponent = try get(.maxExponent, d.maxExponent)
        maxFactorial = try get(.maxFactorial, d.maxFactorial)
        maxBits = try get(.maxBits, d.maxBits)
        maxWork = try get(.maxWork, d.maxWork)
    }
}

/// Why parsing or evaluation stopped early.
struct VerifyFailure: Error, Sendable {
    enum Kind: Sendable { case parse, limit }
    let kind: Kind
    let message: String
    static func parse(_ m: String) -> VerifyFailure { VerifyFailure(kind: .parse, message: m) }
    static func limit(_ m: String) -> VerifyFailure { VerifyFailure(kind: .limit, message: m) }
}

/// A work counter shared (by reference) by every stage of one `verify` call.
final class Budget {
    let limits: VerifyLimits
    private(set) var used: Int = 0
    init(_ limits: VerifyLimits) { self.limits = limits }

    @inline(__always)
    func charge(_ units: Int = 1) throws(VerifyFailure) {
        // Refuse work that would overrun the budget, so `used` never exceeds it.
        if units > limits.maxWork - used {
            used = limits.maxWork
            throw .limit("work budget of \(limits.maxWork) units exhausted")
        }
        used += units
    }

    /// Charges for a big-number operation (multiplication, division, gcd) on operands of the given total size
    /// in bits. Those cost about the square of the size, and so does the charge.
    @inline(__always)
    func chargeBits(_ bits: Int) throws(VerifyFailure) {
        if bits > limits.maxBits { throw .limit("number larger than \(limits.maxBits) bits") }
        let words = bits / 64
        try charge(1 + words + words * words / 8)
    }
}
