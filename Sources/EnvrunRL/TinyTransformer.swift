import EnvrunCore
import Foundation

/// The shape of the `tiny` policy's network: a pre-LayerNorm decoder-only transformer (GPT-2 layout,
/// GELU feed-forward, learned positions, untied output head).
public struct TinyConfig: Sendable, Equatable, Codable {
    public var vocab: Int
    public var context: Int
    public var dModel: Int
    public var heads: Int
    public var layers: Int
    public var ffMult: Int = 4

    public init(vocab: Int, context: Int, dModel: Int = 64, heads: Int = 4, layers: Int = 2, ffMult: Int = 4) {
        self.vocab = vocab
        self.context = context
        self.dModel = dModel
        self.heads = heads
        self.layers = layers
        self.ffMult = ffMult
    }

    var ff: Int { dModel * ffMult }
    var headDim: Int { dModel / heads }
}

/// Where each tensor lives in the one flat parameter vector (so Adam, checkpoints and gradient checks see
/// a single array).
struct TinyLayout: Sendable {
    struct Layer: Sendable {
        var ln1g = 0, ln1b = 0, wqkv = 0, bqkv = 0, wo = 0, bo = 0
        var ln2g = 0, ln2b = 0, w1 = 0, b1 = 0, w2 = 0, b2 = 0
    }
    var tok = 0, pos = 0, lnfg = 0, lnfb = 0, wout = 0, bout = 0
    var layers: [Layer] = []
    var count = 0
    /// Offsets of the LayerNorm gains (initialised to 1) and of the matrices (initialised N(0, 0.02)).
    var gains: [(Int, Int)] = []
    var matrices: [(Int, Int)] = []

    init(_ c: TinyConfig) {
        var n = 0
        func take(_ size: Int) -> Int { defer { n += size }; return n }
        let d = c.dModel
        tok = take(c.vocab * d); matrices.append((tok, c.vocab * d))
        pos = take(c.context * d); matrices.append((pos, c.context * d))
        for _ in 0..<c.layers {
            var l = Layer()
            l.ln1g = take(d); gains.append((l.ln1g, d))
            l.ln1b = take(d)
            l.wqkv = take(d * 3 * d); matrices.append((l.wqkv, d * 3 * d))
            l.bqkv = take(3 * d)
            l.wo = take(d * d); matrices.append((l.wo, d * d))
            l.bo = take(d)
            l.ln2g = take(d); gains.append((l.ln2g, d))
            l.ln2b = take(d)
            l.w1 = take(d * c.ff); matrices.append((l.w1, d * c.ff))
            l.b1 = take(c.ff)
            l.w2 = take(c.ff * d); matrices.append((l.w2, c.ff * d))
            l.b2 = take(d)
            layers.append(l)
        }
        lnfg = take(d); gains.append((lnfg, d))
        lnfb = take(d)
        wout = take(d * c.vocab); matrices.append((wout, d * c.vocab))
        bout = take(c.vocab)
        count = n
    }
}

/// The network's parameters and its forward and backward passes on a batch of equal-length token rows.
/// Causal attention means right padding never influences earlier positions, so rows of different lengths
/// share a batch padded at the end.
public struct TinyTransformer: Sendable {
    public let config: TinyConfig
    let layout: TinyLayout
    public var parameters: [Double]

    public init(config: TinyConfig, seed: UInt64) {
        precondition(config.dModel % config.heads == 0, "dModel must be a multiple of heads")
        self.config = config
        layout = TinyLayout(config)
        var p = [Double](repeating: 0, count: layout.count)
        var rng = SplitMix64(seed: seed)
        for (o, n) in layout.matrices { for i in o..<(o + n) { p[i] = 0.02 * rng.normal() } }
        for (o, n) in layout.gains { for i in o..<(o + n) { p[i] = 1 } }
        parameters = p
    }

    public init(config: TinyConfig, parameters: [Double]) throws {
        let layout = TinyLayout(config)
        guard parameters.count == layout.count else {
            throw EnvrunError(.invalidInput, "the checkpoint has \(parameters.count) parameters; this configuration needs \(layout.count)")
        }
        self.config = config
        self.layout = layout
        self.parameters = parameters
    }

    public var parameterCount: Int { layout.count }

    /// Everything the backward pass needs from the forward pass.
    public struct Activations: Sendable {
        public let batch: Int
        public let length: Int
        let tokens: [Int32]
        struct Layer: Sendable {
            var x: [Double]       // input to the block
            var ln1hat: [Double], ln1rstd: [Double], h1: [Double]
            var qkv: [Double]
            var probs: [Double]   // [B, H, T, T]
            var att: [Double]
            var x2: [Double]
            var ln2hat: [Double], ln2rstd: [Double], h2: [Double]
            var f: [Double], g: [Double]
        }
        var layers: [Layer] = []
        var xL: [Double] = []
        var lnfhat: [Double] = [], lnfrstd: [Double] = [], hf: [Double] = []
        /// Logits [batch·length, vocab]; row r predicts the token after position r.
        public var logits: [Double] = []
    }

    public func forward(tokens: [Int32], batch: Int, length: Int) -> Activations {
        let c = config, d = c.dModel, n = batch * length
        precondition(tokens.count == n && length <= c.context)
        var acts = Activations(batch: batch, length: length, tokens: tokens)
        var x = [Double].zeros(n * d)
        parameters.withUnsafeBufferPointer { p in
            for r in 0..<n {
                let tok = Int(tokens[r]), t = r % length
                for k in 0..<d { x[r * d + k] = p[layout.tok + tok * d + k] + p[layout.pos + t * d + k] }
            }
        }
        for l in layout.layers {
            let (ln1hat, ln1rstd, h1) = layerNorm(x, n: n, gain: l.ln1g, bias: l.ln1b)
            let qkv = linear(h1, n: n, inDim: d, outDim: 3 * d, w: l.wqkv, b: l.bqkv)
            let (probs, att) = attention(qkv, batch: batch, length: length)
            let a = linear(att, n: n, inDim: d, outDim: d, w: l.wo, b: l.bo)
            var x2 = x
            for i in 0..<(n * d) { x2[i] += a[i] }
            let (ln2hat, ln2rstd, h2) = layerNorm(x2, n: n, gain: l.ln2g, bias: l.ln2b)
            let f = linear(h2, n: n, inDim: d, outDim: c.ff, w: l.w1, b: l.b1)
            let g = f.map(gelu)
            let m = linear(g, n: n, inDim: c.ff, outDim: d, w: l.w2, b: l.b2)
            var x3 = x2
            for i in 0..<(n * d) { x3[i] += m[i] }
            acts.layers.append(.init(
                x: x, ln1hat: ln1hat, ln1rstd: ln1rstd, h1: h1, qkv: qkv, probs: probs, att: att, x2: x2,
                ln2hat: ln2hat, ln2rstd: ln2rstd, h2: h2, f: f, g: g))
            x = x3
        }
        acts.xL = x
        (acts.lnfhat, acts.lnfrstd, acts.hf) = layerNorm(x, n: n, gain: layout.lnfg, bias: layout.lnfb)
        acts.logits = linear(acts.hf, n: n, inDim: d, outDim: c.vocab, w: layout.wout, b: layout.bout)
        return acts
    }

    /// Gradient of a scalar loss with respect to every parameter, given ∂loss/∂logits.
    public func backward(_ acts: Activations, dLogits: [Double]) -> [Double] {
        let c = config, d = c.dModel, n = acts.batch * acts.length
        var grad = [Double].zeros(layout.count)
        var dx = linearBackward(
            dY: dLogits, x: acts.hf, n: n, inDim: d, outDim: c.vocab, w: layout.wout, b: layout.bout, grad: &grad)
        dx = layerNormBackward(dx, hat: acts.lnfhat, rstd: acts.lnfrstd, n: n, gain: layout.lnfg, bias: layout.lnfb, grad: &grad)
        for (li, l) in layout.layers.enumerated().reversed() {
            let a = acts.layers[li]
            // x3 = x2 + MLP(LN2(x2))
            var dg = linearBackward(dY: dx, x: a.g, n: n, inDim: c.ff, outDim: d, w: l.w2, b: l.b2, grad: &grad)
            for i in 0..<dg.count { dg[i] *= geluDerivative(a.f[i]) }
            var dh2 = linearBackward(dY: dg, x: a.h2, n: n, inDim: d, outDim: c.ff, w: l.w1, b: l.b1, grad: &grad)
            dh2 = layerNormBackward(dh2, hat: a.ln2hat, rstd: a.ln2rstd, n: n, gain: l.ln2g, bias: l.ln2b, grad: &grad)
            var dx2 = dx
            for i in 0..<dx2.count { dx2[i] += dh2[i] }
            // x2 = x + Attn(LN1(x))
            let datt = linearBackward(dY: dx2, x: a.att, n: n, inDim: d, outDim: d, w: l.wo, b: l.bo, grad: &grad)
            let dqkv = attentionBackward(datt, qkv: a.qkv, probs: a.probs, batch: acts.batch, length: acts.length)
            var dh1 = linearBackward(dY: dqkv, x: a.h1, n: n, inDim: d, outDim: 3 * d, w: l.wqkv, b: l.bqkv, grad: &grad)
            dh1 = layerNormBackward(dh1, hat: a.ln1hat, rstd: a.ln1rstd, n: n, gain: l.ln1g, bias: l.ln1b, grad: &grad)
            dx = dx2
            for i in 0..<dx.count { dx[i] += dh1[i] }
        }
        for r in 0..<n {
            let tok = Int(acts.tokens[r]), t = r % acts.length
            for k in 0..<d {
                grad[layout.tok + tok * d + k] += dx[r * d + k]
                grad[layout.pos + t * d + k] += dx[r * d + k]
            }
        }
        return grad
    }

    // MARK: - Pieces

    func linear(_ x: [Double], n: Int, inDim: Int, outDim: Int, w: Int, b: Int) -> [Double] {
        var y = [Double].zeros(n * outDim)
        parameters.withUnsafeBufferPointer { p in
            y.withUnsafeMutableBufferPointer { yp in
                for r in 0..<n { for j in 0..<outDim { yp[r * outDim + j] = p[b + j] } }
                x.withUnsafeBufferPointer { xp in
                    Dense.nn(n, outDim, inDim, xp.baseAddress!, p.baseAddress! + w, yp.baseAddress!, beta: 1)
                }
            }
        }
        return y
    }

    /// Accumulates ∂W = xᵀ·dY and ∂b = Σ dY into `grad`; returns ∂x = dY·Wᵀ.
    func linearBackward(dY: [Double], x: [Double], n: Int, inDim: Int, outDim: Int, w: Int, b: Int,
                        grad: inout [Double]) -> [Double] {
        var dx = [Double].zeros(n * inDim)
        grad.withUnsafeMutableBufferPointer { g in
            dY.withUnsafeBufferPointer { dy in
                x.withUnsafeBufferPointer { xp in
                    Dense.tn(inDim, outDim, n, xp.baseAddress!, dy.baseAddress!, g.baseAddress! + w, beta: 1)
                }
                for r in 0..<n { for j in 0..<outDim { g[b + j] += dy[r * outDim + j] } }
                parameters.withUnsafeBufferPointer { p in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        Dense.nt(n, inDim, outDim, dy.baseAddress!, p.baseAddress! + w, dxp.baseAddress!)
                    }
                }
            }
        }
        return dx
    }

    static let lnEpsilon = 1e-5

    func layerNorm(_ x: [Double], n: Int, gain: Int, bias: Int) -> (hat: [Double], rstd: [Double], y: [Double]) {
        let d = config.dModel
        var hat = [Double].zeros(n * d), rstd = [Double].zeros(n), y = [Double].zeros(n * d)
        parameters.withUnsafeBufferPointer { p in
            for r in 0..<n {
                var mean = 0.0
                for k in 0..<d { mean += x[r * d + k] }
                mean /= Double(d)
                var v = 0.0
                for k in 0..<d { let e = x[r * d + k] - mean; v += e * e }
                let s = 1 / (v / Double(d) + Self.lnEpsilon).squareRoot()
                rstd[r] = s
                for k in 0..<d {
                    let h = (x[r * d + k] - mean) * s
                    hat[r * d + k] = h
                    y[r * d + k] = h * p[gain + k] + p[bias + k]
                }
            }
        }
        return (hat, rstd, y)
    }

    func layerNormBackward(_ dy: [Double], hat: [Double], rstd: [Double], n: Int, gain: Int, bias: Int,
                           grad: inout [Double]) -> [Double] {
        let d = config.dModel
        var dx = [Double].zeros(n * d)
        parameters.withUnsafeBufferPointer { p in
            for r in 0..<n {
                var meanD = 0.0, meanDH = 0.0
                for k in 0..<d {
                    let dh = dy[r * d + k] * p[gain + k]
                    meanD += dh
                    meanDH += dh * hat[r * d + k]
                    grad[gain + k] += dy[r * d + k] * hat[r * d + k]
                    grad[bias + k] += dy[r * d + k]
                }
                meanD /= Double(d)
                meanDH /= Double(d)
                for k in 0..<d {
                    let dh = dy[r * d + k] * p[gain + k]
                    dx[r * d + k] = rstd[r] * (dh - meanD - hat[r * d + k] * meanDH)
                }
            }
        }
        return dx
    }

    /// Causal multi-head attention on the packed q|k|v rows; returns the softmax weights and the output.
    func attention(_ qkv: [Double], batch: Int, length: Int) -> (probs: [Double], out: [Double]) {
        let d = config.dModel, H = config.heads, dh = config.headDim, T = length
        let scale = 1 / Double(dh).squareRoot()
        var probs = [Double].zeros(batch * H * T * T), out = [Double].zeros(batch * T * d)
        qkv.withUnsafeBufferPointer { q in
            probs.withUnsafeMutableBufferPointer { P in
                out.withUnsafeMutableBufferPointer { o in
                    for b in 0..<batch {
                        for h in 0..<H {
                            let pBase = (b * H + h) * T * T
                            for i in 0..<T {
                                let qi = (b * T + i) * 3 * d + h * dh
                                var mx = -Double.infinity
                                for j in 0...i {
                                    let kj = (b * T + j) * 3 * d + d + h * dh
                                    var s = 0.0
                                    for e in 0..<dh { s += q[qi + e] * q[kj + e] }
                                    s *= scale
                                    P[pBase + i * T + j] = s
                                    mx = max(mx, s)
                                }
                                var z = 0.0
                                for j in 0...i { let e = exp(P[pBase + i * T + j] - mx); P[pBase + i * T + j] = e; z += e }
                                let oi = (b * T + i) * d + h * dh
                                for j in 0...i {
                                    let w = P[pBase + i * T + j] / z
                                    P[pBase + i * T + j] = w
                                    let vj = (b * T + j) * 3 * d + 2 * d + h * dh
                                    for e in 0..<dh { o[oi + e] += w * q[vj + e] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (probs, out)
    }

    func attentionBackward(_ dOut: [Double], qkv: [Double], probs: [Double], batch: Int, length: Int) -> [Double] {
        let d = config.dModel, H = config.heads, dh = config.headDim, T = length
        let scale = 1 / Double(dh).squareRoot()
        var dqkv = [Double].zeros(qkv.count)
        var dP = [Double].zeros(T)
        for b in 0..<batch {
            for h in 0..<H {
                let pBase = (b * H + h) * T * T
                for i in 0..<T {
                    let oi = (b * T + i) * d + h * dh
                    var dot = 0.0
                    for j in 0...i {
                        let vj = (b * T + j) * 3 * d + 2 * d + h * dh
                        var s = 0.0
                        for e in 0..<dh { s += dOut[oi + e] * qkv[vj + e] }
                        dP[j] = s
                        let w = probs[pBase + i * T + j]
                        dot += w * s
                        for e in 0..<dh { dqkv[vj + e] += w * dOut[oi + e] }
                    }
                    let qi = (b * T + i) * 3 * d + h * dh
                    for j in 0...i {
                        let dS = probs[pBase + i * T + j] * (dP[j] - dot) * scale
                        let kj = (b * T + j) * 3 * d + d + h * dh
                        for e in 0..<dh {
                            dqkv[qi + e] += dS * qkv[kj + e]
                            dqkv[kj + e] += dS * qkv[qi + e]
                        }
                    }
                }
            }
        }
        return dqkv
    }
}

@inline(__always) func gelu(_ x: Double) -> Double {
    let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1 + tanh(u))
}

@inline(__always) func geluDerivative(_ x: Double) -> Double {
    let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    let t = tanh(u)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x)
}

/// Log-softmax of each logits row.
func logSoftmaxRows(_ logits: [Double], rows: Int, vocab: Int) -> [Double] {
    var out = [Double].zeros(logits.count)
    for r in 0..<rows {
        var mx = -Double.infinity
        for v in 0..<vocab { mx = max(mx, logits[r * vocab + v]) }
        var z = 0.0
        for v in 0..<vocab { z += exp(logits[r * vocab + v] - mx) }
        let lz = mx + log(z)
        for v in 0..<vocab { out[r * vocab + v] = logits[r * vocab + v] - lz }
    }
    return out
}
