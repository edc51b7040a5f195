import Foundation

/// Element-wise kernels of the encoder, on row-major Float32 buffers.
enum Kernels {
    /// `out[rows × outDim] = x[rows × inDim] · Wᵀ + bias` with one sgemm (bias pre-filled, beta = 1).
    static func linear(
        _ x: [Float], rows: Int, inDim: Int, weight: [Float], bias: [Float], outDim: Int, into out: inout [Float]
    ) {
        out.withUnsafeMutableBufferPointer { o in
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    (o.baseAddress! + r * outDim).update(from: b.baseAddress!, count: outDim)
                }
            }
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { w in
                    BLAS.gemmNT(
                        m: rows, n: outDim, k: inDim, a: xp.baseAddress!, lda: inDim, b: w.baseAddress!, ldb: inDim,
                        beta: 1, c: o.baseAddress!, ldc: outDim)
                }
            }
        }
    }

    static func addInPlace(_ x: inout [Float], _ y: [Float]) {
        x.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                for i in 0..<xp.count { xp[i] += yp[i] }
            }
        }
    }

    static func layerNorm(_ x: inout [Float], rows: Int, cols: Int, gamma: [Float], beta: [Float], eps: Float) {
        x.withUnsafeMutableBufferPointer { xp in
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { b in
                    for r in 0..<rows {
                        let p = xp.baseAddress! + r * cols
                        var mean: Float = 0
                        for j in 0..<cols { mean += p[j] }
                        mean /= Float(cols)
                        var variance: Float = 0
                        for j in 0..<cols {
                            let d = p[j] - mean
                            variance += d * d
                        }
                        variance /= Float(cols)
                        let inv = 1 / (variance + eps).squareRoot()
                        for j in 0..<cols { p[j] = (p[j] - mean) * inv * g[j] + b[j] }
                    }
                }
            }
        }
    }

    static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        VectorMath.softmaxRows(p, rows: rows, cols: cols)
    }

    /// GELU in its erf form, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, as BERT's `hidden_act = "gelu"` (not the
    /// tanh approximation); erf is evaluated 8 lanes at a time (see `VectorMath`).
    static func geluInPlace(_ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { VectorMath.gelu($0.baseAddress!, count: $0.count) }
    }
}
