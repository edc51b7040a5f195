import Foundation

/// SplitMix64: a small seeded generator that gives the same sequence on every platform and Swift version,
/// unlike the standard library's default generator. Used wherever envrun must be reproducible from a seed:
/// generated task packs, the verifier's sample points, reward-head initialisation and shuffles.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (by rejection, no modulo bias).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        let limit = UInt64.max - UInt64.max % width
        var x = next()
        while x >= limit { x = next() }
        return range.lowerBound + Int(x % width)
    }

    /// Fisher–Yates shuffle in place: the same order for the same seed on every platform and Swift version
    /// (the standard library's `shuffle(using:)` does not promise its algorithm).
    public mutating func shuffle<T>(_ a: inout [T]) {
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(in: 0...i)) }
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
