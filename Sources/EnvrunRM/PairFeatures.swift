import Foundation

/// The head's input for one (prompt, response): `[e_r, e_p ⊙ e_r, |e_p − e_r|, log-length features]` where
/// `e_p`, `e_r` are the unit-length sentence embeddings of prompt and response. The length features are
/// `log(1 + words)` of the response and of the prompt: the head may use length, and must beat
/// "longer response wins" on held-out pairs to be worth shipping.
public struct PairFeatures: Codable, Sendable, Equatable {
    public var embeddingDimension: Int
    public var useLength: Bool

    public init(embeddingDimension: Int, useLength: Bool = true) {
        self.embeddingDimension = embeddingDimension
        self.useLength = useLength
    }

    enum CodingKeys: String, CodingKey {
        case embeddingDimension = "embedding_dimension"
        case useLength = "use_length"
    }

    public var dimension: Int { 3 * embeddingDimension + (useLength ? 2 : 0) }

    public func make(prompt ep: [Float], response er: [Float], promptText: String, responseText: String) -> [Float] {
        let d = embeddingDimension
        var f = [Float](repeating: 0, count: dimension)
        for j in 0..<d {
            f[j] = er[j]
            f[d + j] = ep[j] * er[j]
            f[2 * d + j] = abs(ep[j] - er[j])
        }
        if useLength {
            f[3 * d] = Float(log1p(Double(Self.words(responseText))))
            f[3 * d + 1] = Float(log1p(Double(Self.words(promptText))))
        }
        return f
    }

    static func words(_ s: String) -> Int {
        var n = 0
        var inWord = false
        for b in s.utf8 {
            let space = b == 32 || b == 10 || b == 9 || b == 13
            if !space && !inWord { n += 1 }
            inWord = !space
        }
        return n
    }
}
