import EnvrunCore
import Foundation

/// One sampled response and what the update needs from the moment it was sampled.
public struct Rollout: Sendable, Equatable {
    public var group: Int
    public var taskID: String
    public var promptTokens: [Int32]
    /// Through the end token when there is one.
    public var responseTokens: [Int32]
    /// Log-probs of the response tokens under the policy that sampled them.
    public var logprobs: [Double]
    /// The response hit the token limit without an end token.
    public var truncated: Bool
    /// What the Environment scores.
    public var text: String
    public var policyVersion: Int
}

/// What one policy-gradient update reports.
public struct UpdateStats: Sendable, Equatable {
    public var loss = 0.0, pgLoss = 0.0, klLoss = 0.0
    public var clipFraction = 0.0, approxKL = 0.0, refKL = 0.0
    public var gradNorm = 0.0, entropy = 0.0
    public init() {}
}

/// A sample ready for the loss: tokens, rollout log-probs and per-token advantages.
public struct TrainSample: Sendable {
    public var promptTokens: [Int32]
    public var responseTokens: [Int32]
    public var oldLogprobs: [Double]
    public var refLogprobs: [Double]?
    public var advantages: [Double]
    public init(promptTokens: [Int32], responseTokens: [Int32], oldLogprobs: [Double], refLogprobs: [Double]? = nil,
                advantages: [Double]) {
        self.promptTokens = promptTokens
        self.responseTokens = responseTokens
        self.oldLogprobs = oldLogprobs
        self.refLogprobs = refLogprobs
        self.advantages = advantages
    }
}

/// The `tiny` policy: a `TinyTransformer` over the `DigitCodec` vocabulary, sampled and trained in
/// process. A value type: its whole state (weights, optimizer, reference) is what a checkpoint saves.
public struct TinyPolicy: Sendable {
    public var model: TinyTransformer
    public var optimizer: Adam
    /// The frozen reference for the KL term (the weights when RL started); nil until `freezeReference`.
    public var reference: [Double]?
    public let codec: DigitCodec
    public var version = 0

    public init(codec: DigitCodec, dModel: Int = 64, heads: Int = 4, layers: Int = 2, learningRate: Double, seed: UInt64) {
        self.codec = codec
        let config = TinyConfig(vocab: DigitCodec.vocabulary, context: codec.context, dModel: dModel, heads: heads, layers: layers)
        model = TinyTransformer(config: config, seed: seed)
        optimizer = Adam(parameterCount: model.parameterCount, learningRate: learningRate)
    }

    public mutating func freezeReference() { reference = model.parameters }

    // MARK: Sampling

    /// Samples (or, `greedy`, decodes) one response per prompt, all prompts of the codec's fixed length.
    /// The network is re-run on the whole prefix each token: responses are a handful of tokens.
    public func generate(prompts: [[Int32]], greedy: Bool, rng: inout SplitMix64) -> [(tokens: [Int32], logprobs: [Double], truncated: Bool)] {
        let B = prompts.count, P = codec.promptLength, V = DigitCodec.vocabulary
        guard B > 0 else { return [] }
        var seqs = prompts.flatMap { $0 }
        var out = [(tokens: [Int32], logprobs: [Double], truncated: Bool)](repeating: ([], [], true), count: B)
        var done = [Bool](repeating: false, count: B)
        for step in 0..<codec.maxResponseTokens {
            let L = P + step
            let acts = model.forward(tokens: seqs, batch: B, length: L)
            var next = [Int32](repeating: DigitCodec.end, count: B)
            for b in 0..<B where !done[b] {
                let row = b * L + L - 1
                var mx = -Double.infinity
                for v in 0..<V { mx = max(mx, acts.logits[row * V + v]) }
                var z = 0.0
                for v in 0..<V { z += exp(acts.logits[row * V + v] - mx) }
                let lz = mx + log(z)
                var choice = 0
                if greedy {
                    for v in 1..<V where acts.logits[row * V + v] > acts.logits[row * V + choice] { choice = v }
                } else {
                    let u = rng.unit() * z
                    var acc = 0.0
                    choice = V - 1
                    for v in 0..<V {
                        acc += exp(acts.logits[row * V + v] - mx)
                        if u < acc { choice = v; break }
                    }
                }
                next[b] = Int32(choice)
                out[b].tokens.append(Int32(choice))
                out[b].logprobs.append(acts.logits[row * V + choice] - lz)
                if Int32(choice) == DigitCodec.end {
                    done[b] = true
                    out[b].truncated = false
                }
            }
            var grown: [Int32] = []
            grown.reserveCapacity(B * (L + 1))
            for b in 0..<B { grown += seqs[(b * L)..<(b * L + L)]; grown.append(next[b]) }
            seqs = grown
            if done.allSatisfy({ $0 }) { break }
        }
        return out
    }

    // MARK: Log-probs, losses and updates

    /// The rows of a batch of prompt+response sequences padded with end tokens to the full context.
    func pack(_ prompts: [[Int32]], _ responses: [[Int32]]) -> (tokens: [Int32], length: Int) {
        let L = codec.context
        var tokens: [Int32] = []
        tokens.reserveCapacity(prompts.count * L)
        for (p, r) in zip(prompts, responses) {
            let row = p + r
            tokens += row.prefix(L)
            if row.count < L { tokens += [Int32](repeating: DigitCodec.end, count: L - row.count) }
        }
        return (tokens, L)
    }

    /// The forward pass over prompt+response rows and the log-softmax of every position.
    func forwardLogSoftmax(_ prompts: [[Int32]], _ responses: [[Int32]], model m: TinyTransformer)
        -> (acts: TinyTransformer.Activations, lsm: [Double], length: Int)
    {
        let (tokens, L) = pack(prompts, responses)
        let acts = m.forward(tokens: tokens, batch: prompts.count, length: L)
        return (acts, logSoftmaxRows(acts.logits, rows: prompts.count * L, vocab: DigitCodec.vocabulary), L)
    }

    /// Log-probs of each response token under `parameters` (default: the current weights).
    public func logprobs(prompts: [[Int32]], responses: [[Int32]], parameters: [Double]? = nil) -> [[Double]] {
        var m = model
        if let parameters { m.parameters = parameters }
        let (_, lsm, L) = forwardLogSoftmax(prompts, responses, model: m)
        let V = DigitCodec.vocabulary
        return responses.enumerated().map { b, r in
            let P = prompts[b].count
            return r.enumerated().map { k, tok in lsm[(b * L + P - 1 + k) * V + Int(tok)] }
        }
    }

    /// The loss of `samples` and its gradient, without touching the weights (the gradient checks use it).
    public func lossAndGradient(_ samples: [TrainSample], settings: LossSettings) -> (LossOutput, [Double], entropy: Double) {
        let (acts, lsm, L) = forwardLogSoftmax(samples.map(\.promptTokens), samples.map(\.responseTokens), model: model)
        let V = DigitCodec.vocabulary
        var seqs: [LossSequence] = []
        var entropy = 0.0, count = 0
        for (b, s) in samples.enumerated() {
            let P = s.promptTokens.count
            let logp = s.responseTokens.enumerated().map { k, tok in lsm[(b * L + P - 1 + k) * V + Int(tok)] }
            for k in 0..<s.responseTokens.count {
                let row = (b * L + P - 1 + k) * V
                for v in 0..<V { let lp = lsm[row + v]; entropy -= exp(lp) * lp }
                count += 1
            }
            seqs.append(LossSequence(logp: logp, oldLogp: s.oldLogprobs, refLogp: s.refLogprobs, advantages: s.advantages))
        }
        let out = PolicyLoss.compute(seqs, settings: settings)
        // ∂loss/∂logit_v = ∂loss/∂logp · (1[v = token] − softmax_v) at each response position.
        var dLogits = [Double].zeros(acts.logits.count)
        for (b, s) in samples.enumerated() {
            let P = s.promptTokens.count
            for (k, tok) in s.responseTokens.enumerated() {
                let g = out.gradLogp[b][k]
                guard g != 0 else { continue }
                let row = (b * L + P - 1 + k) * V
                for v in 0..<V { dLogits[row + v] -= g * exp(lsm[row + v]) }
                dLogits[row + Int(tok)] += g
            }
        }
        return (out, model.backward(acts, dLogits: dLogits), count == 0 ? 0 : entropy / Double(count))
    }

    /// One optimizer step on the clipped policy-gradient loss.
    public mutating func update(_ samples: [TrainSample], settings: LossSettings) -> UpdateStats {
        let (out, grad, entropy) = lossAndGradient(samples, settings: settings)
        var stats = UpdateStats()
        stats.loss = out.loss
        stats.pgLoss = out.pgLoss
        stats.klLoss = out.klLoss
        stats.clipFraction = out.clipFraction
        stats.approxKL = out.approxKL
        stats.refKL = out.refKL
        stats.entropy = entropy
        stats.gradNorm = optimizer.update(&model.parameters, gradient: grad)
        version += 1
        return stats
    }

    /// Cross-entropy of the gold responses and its gradient (mean over response tokens).
    public func supervisedLossAndGradient(prompts: [[Int32]], targets: [[Int32]]) -> (loss: Double, gradient: [Double]) {
        let (acts, lsm, L) = forwardLogSoftmax(prompts, targets, model: model)
        let V = DigitCodec.vocabulary
        let n = Double(targets.reduce(0) { $0 + $1.count })
        var loss = 0.0
        var dLogits = [Double].zeros(acts.logits.count)
        for (b, t) in targets.enumerated() {
            let P = prompts[b].count
            for (k, tok) in t.enumerated() {
                let row = (b * L + P - 1 + k) * V
                loss -= lsm[row + Int(tok)] / n
                for v in 0..<V { dLogits[row + v] += exp(lsm[row + v]) / n }
                dLogits[row + Int(tok)] -= 1 / n
            }
        }
        return (loss, model.backward(acts, dLogits: dLogits))
    }

    /// One supervised step (the warm-up); returns the loss before the step.
    @discardableResult
    public mutating func supervisedStep(prompts: [[Int32]], targets: [[Int32]]) -> Double {
        let (loss, grad) = supervisedLossAndGradient(prompts: prompts, targets: targets)
        optimizer.update(&model.parameters, gradient: grad)
        version += 1
        return loss
    }
}
