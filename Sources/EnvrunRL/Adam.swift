import Foundation

/// Adam with bias correction, decoupled weight decay (AdamW) and global-norm gradient clipping. Its
/// state is plain arrays so a checkpoint restores it exactly.
public struct Adam: Sendable, Codable, Equatable {
    public var learningRate: Double
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    public var weightDecay: Double = 0
    /// Gradients whose global L2 norm passes this are scaled down to it; nil: no clipping.
    public var maxGradNorm: Double? = 1
    public var step: Int = 0
    var m: [Double]
    var v: [Double]

    public init(parameterCount: Int, learningRate: Double) {
        self.learningRate = learningRate
        m = [Double](repeating: 0, count: parameterCount)
        v = m
    }

    /// Applies one update in place; returns the gradient norm before clipping.
    @discardableResult
    public mutating func update(_ params: inout [Double], gradient g: [Double]) -> Double {
        precondition(params.count == g.count && g.count == m.count)
        var norm = 0.0
        for x in g { norm += x * x }
        norm = norm.squareRoot()
        let scale = maxGradNorm.map { norm > $0 && norm > 0 ? $0 / norm : 1 } ?? 1
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
        let lr = learningRate
        guard lr != 0 else { return norm }
        params.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<p.count {
                        let gi = g[i] * scale
                        m[i] = beta1 * m[i] + (1 - beta1) * gi
                        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
                        let update = (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
                        p[i] -= lr * (update + weightDecay * p[i])
                    }
                }
            }
        }
        return norm
    }
}
