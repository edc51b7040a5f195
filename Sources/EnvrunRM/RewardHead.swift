import EnvrunCore
import Foundation

/// A small MLP reward head: `r(x) = w₂ · tanh(W₁ · z + b₁) + b₂` with `z = (x − μ) / σ` (feature
/// standardisation fitted on the training set). `hidden == 0` makes it linear: `r = w · z + b`.
/// Parameters live in one flat vector `[W₁ (hidden×D) | b₁ | w₂ | b₂]` so Adam and gradient checks are simple.
/// Forward and backward run on mini-batches with `cblas_sgemm`.
public struct RewardHead: Sendable, Equatable {
    public var inputDimension: Int
    public var hidden: Int
    public var mean: [Float]
    public var scale: [Float]
    public var theta: [Float]

    public init(inputDimension d: Int, hidden: Int, seed: UInt64) {
        inputDimension = d
        self.hidden = hidden
        mean = [Float](repeating: 0, count: d)
        scale = [Float](repeating: 1, count: d)
        var rng = SplitMix64(seed: seed)
        let count = hidden == 0 ? d + 1 : hidden * d + 2 * hidden + 1
        theta = [Float](repeating: 0, count: count)
        if hidden == 0 { return }
        let s1 = (1 / Double(d)).squareRoot()
        for i in 0..<(hidden * d) { theta[i] = Float(rng.normal() * s1) }
        let s2 = (1 / Double(hidden)).squareRoot()
        for i in 0..<hidden { theta[hidden * d + hidden + i] = Float(rng.normal() * s2) }
    }

    public init(inputDimension: Int, hidden: Int, mean: [Float], scale: [Float], theta: [Float]) {
        self.inputDimension = inputDimension
        self.hidden = hidden
        self.mean = mean
        self.scale = scale
        self.theta = theta
    }

    /// Fits the standardisation on rows of features (`[n × D]`).
    public mutating func fitStandardisation(_ rows: [Float], count n: Int) {
        let d = inputDimension
        var mu = [Double](repeating: 0, count: d), sq = [Double](repeating: 0, count: d)
        for r in 0..<n {
            for j in 0..<d {
                let v = Double(rows[r * d + j])
                mu[j] += v
                sq[j] += v * v
            }
        }
        for j in 0..<d {
            let m = mu[j] / Double(max(n, 1))
            let variance = max(0, sq[j] / Double(max(n, 1)) - m * m)
            mean[j] = Float(m)
            scale[j] = Float(max(variance.squareRoot(), 1e-6))
        }
    }

    func standardised(_ rows: [Float], count n: Int) -> [Float] {
        let d = inputDimension
        var z = rows
        for r in 0..<n {
            for j in 0..<d { z[r * d + j] = (z[r * d + j] - mean[j]) / scale[j] }
        }
        return z
    }

    /// Rewards of `n` feature rows.
    public func rewards(_ rows: [Float], count n: Int) -> [Float] {
        forward(standardised(rows, count: n), count: n).r
    }

    struct Activations { var a: [Float]; var r: [Float] }

    /// `z` is already standardised, `[n × D]`.
    func forward(_ z: [Float], count n: Int) -> Activations {
        let d = inputDimension
        let hd = hidden
        if hd == 0 {
            var r = [Float](repeating: theta[d], count: n)
            z.withUnsafeBufferPointer { zp in
                theta.withUnsafeBufferPointer { t in
                    r.withUnsafeMutableBufferPointer { rp in
                        BLAS.gemmNT(m: n, n: 1, k: d, a: zp.baseAddress!, lda: d, b: t.baseAddress!, ldb: d,
                                    beta: 1, c: rp.baseAddress!, ldc: 1)
                    }
                }
            }
            return Activations(a: [], r: r)
        }
        var a = [Float](repeating: 0, count: n * hd)
        for i in 0..<n { for k in 0..<hd { a[i * hd + k] = theta[hd * d + k] } }
        z.withUnsafeBufferPointer { zp in
            theta.withUnsafeBufferPointer { t in
                a.withUnsafeMutableBufferPointer { ap in
                    BLAS.gemmNT(m: n, n: hd, k: d, a: zp.baseAddress!, lda: d, b: t.baseAddress!, ldb: d,
                                beta: 1, c: ap.baseAddress!, ldc: hd)
                }
            }
        }
        for i in 0..<a.count { a[i] = tanhf(a[i]) }
        let w2 = hd * d + hd
        let b2 = theta[w2 + hd]
        var r = [Float](repeating: b2, count: n)
        for i in 0..<n {
            var s: Float = 0
            for k in 0..<hd { s += a[i * hd + k] * theta[w2 + k] }
            r[i] += s
        }
        return Activations(a: a, r: r)
    }

    /// Mean pairwise loss `−log σ(r_w − r_l)` over a batch (plus `l2/2 · ‖weights‖²`) and its gradient w.r.t.
    /// `theta`. `chosen` and `rejected` are standardised feature rows, `[n × D]` each.
    public func lossAndGradient(chosen: [Float], rejected: [Float], count n: Int, l2: Float = 0)
        -> (loss: Double, gradient: [Float])
    {
        let d = inputDimension
        let hd = hidden
        let z = chosen + rejected  // [2n × D]: chosen rows first
        let act = forward(z, count: 2 * n)
        var loss = 0.0
        var dr = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n {
            let delta = Double(act.r[i] - act.r[n + i])
            // softplus(−Δ), computed stably
            loss += delta > 0 ? log1p(exp(-delta)) : -delta + log1p(exp(delta))
            let g = Float(-1 / (1 + exp(delta)) / Double(n))  // d loss / d Δ = −σ(−Δ) / n
            dr[i] = g
            dr[n + i] = -g
        }
        loss /= Double(n)
        var grad = [Float](repeating: 0, count: theta.count)
        if hd == 0 {
            // dw = Zᵀ · dr, db = Σ dr
            z.withUnsafeBufferPointer { zp in
                dr.withUnsafeBufferPointer { g in
                    grad.withUnsafeMutableBufferPointer { gp in
                        BLAS.gemmTN(m: d, n: 1, k: 2 * n, a: zp.baseAddress!, lda: d, b: g.baseAddress!, ldb: 1,
                                    c: gp.baseAddress!, ldc: 1)
                    }
                }
            }
            grad[d] = dr.reduce(0, +)
        } else {
            let w2 = hd * d + hd
            var dpre = [Float](repeating: 0, count: 2 * n * hd)
            for i in 0..<(2 * n) {
                for k in 0..<hd {
                    let a = act.a[i * hd + k]
                    grad[w2 + k] += dr[i] * a
                    dpre[i * hd + k] = dr[i] * theta[w2 + k] * (1 - a * a)
                    grad[hd * d + k] += dpre[i * hd + k]
                }
                grad[w2 + hd] += dr[i]
            }
            // dW₁ = dPreᵀ · Z  ([hd × 2n] · [2n × D])
            dpre.withUnsafeBufferPointer { dp in
                z.withUnsafeBufferPointer { zp in
                    grad.withUnsafeMutableBufferPointer { gp in
                        BLAS.gemmTN(m: hd, n: d, k: 2 * n, a: dp.baseAddress!, lda: hd, b: zp.baseAddress!, ldb: d,
                                    c: gp.baseAddress!, ldc: d)
                    }
                }
            }
        }
        if l2 > 0 {
            let weights = hd == 0 ? 0..<d : 0..<(hd * d)
            var penalty = 0.0
            for i in weights {
                penalty += Double(theta[i] * theta[i])
                grad[i] += l2 * theta[i]
            }
            if hd > 0 {
                let w2 = hd * d + hd
                for k in 0..<hd {
                    penalty += Double(theta[w2 + k] * theta[w2 + k])
                    grad[w2 + k] += l2 * theta[w2 + k]
                }
            }
            loss += Double(l2) / 2 * penalty
        }
        return (loss, grad)
    }
}

/// Adam (Kingma & Ba) with bias correction, over a flat parameter vector.
public struct Adam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    var m: [Float]
    var v: [Float]
    var t = 0

    public init(count: Int, learningRate: Float) {
        self.learningRate = learningRate
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    public mutating func step(_ theta: inout [Float], _ grad: [Float]) {
        t += 1
        let c1 = 1 - powf(beta1, Float(t))
        let c2 = 1 - powf(beta2, Float(t))
        for i in 0..<theta.count {
            m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
            v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i]
            theta[i] -= learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}
