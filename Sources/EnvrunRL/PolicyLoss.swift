import Foundation

/// KL estimators between the policy and the reference, per token, from log-probs of the sampled token
/// (Schulman's k1 and k3; verl's `kl` and `low_var_kl`).
public enum KLEstimator: String, Sendable, Codable, CaseIterable {
    /// logπ − logπ_ref.
    case k1
    /// exp(logπ_ref − logπ) − (logπ_ref − logπ) − 1: non-negative, lower variance.
    case k3

    public func value(logp: Double, ref: Double) -> Double {
        switch self {
        case .k1: return logp - ref
        case .k3:
            let d = ref - logp
            return exp(d) - d - 1
        }
    }

    /// ∂value/∂logπ.
    public func derivative(logp: Double, ref: Double) -> Double {
        switch self {
        case .k1: return 1
        case .k3: return 1 - exp(ref - logp)
        }
    }
}

/// How per-token losses become one number (verl's `loss_agg_mode`).
public enum LossAggregation: String, Sendable, Codable, CaseIterable {
    /// Σ mask·ℓ / Σ mask over the whole batch (verl's default; DAPO).
    case tokenMean = "token-mean"
    /// The mean over sequences of each sequence's token mean (the original GRPO).
    case seqMeanTokenMean = "seq-mean-token-mean"
    /// Σ mask·ℓ / (sequences × max response length): Dr. GRPO's constant normaliser.
    case seqMeanTokenSumNorm = "seq-mean-token-sum-norm"
}

public enum KLPlacement: String, Sendable, Codable, CaseIterable {
    /// β·KL added to each token's loss (verl `use_kl_loss`, TRL `beta`).
    case loss
    /// −β·KL added to each token's reward before the advantages (verl `use_kl_in_reward`).
    case reward
}

public struct LossSettings: Sendable, Equatable, Codable {
    public var clipLow: Double = 0.2
    public var clipHigh: Double = 0.2
    /// Dual clip for negative advantages (verl `clip_ratio_c`, 3.0); nil turns it off.
    public var dualClip: Double? = nil
    public var klBeta: Double = 0
    public var klEstimator: KLEstimator = .k3
    public var klPlacement: KLPlacement = .loss
    public var aggregation: LossAggregation = .tokenMean
    /// For `seq-mean-token-sum-norm`: the normalising length (the max response length).
    public var maxResponseLength: Int = 1
    public init() {}
}

/// One sequence's per-token inputs to the loss (response tokens only).
public struct LossSequence: Sendable {
    public var logp: [Double]
    public var oldLogp: [Double]
    public var refLogp: [Double]?
    public var advantages: [Double]
    public init(logp: [Double], oldLogp: [Double], refLogp: [Double]? = nil, advantages: [Double]) {
        self.logp = logp
        self.oldLogp = oldLogp
        self.refLogp = refLogp
        self.advantages = advantages
    }
}

public struct LossOutput: Sendable {
    public var loss: Double
    /// ∂loss/∂logπ for every token of every sequence.
    public var gradLogp: [[Double]]
    public var pgLoss: Double
    public var klLoss: Double
    /// Share of tokens whose ratio was clipped (the clipped term was the larger).
    public var clipFraction: Double
    /// Mean of logπ_old − logπ (verl's `actor/ppo_kl`).
    public var approxKL: Double
    /// Mean KL to the reference under the chosen estimator (0 without a reference).
    public var refKL: Double
}

public enum PolicyLoss {
    /// The PPO/GRPO clipped surrogate with optional dual clip and KL to the reference:
    ///   ℓ_t = max(−A·ρ, −A·clip(ρ, 1−ε_low, 1+ε_high)), then for A < 0 min(ℓ_t, −A·c), plus β·KL_t when
    ///   the KL sits in the loss; ρ = exp(logπ − logπ_old). Aggregated per `settings.aggregation`.
    public static func compute(_ seqs: [LossSequence], settings s: LossSettings) -> LossOutput {
        let tokenCount = seqs.reduce(0) { $0 + $1.logp.count }
        // The weight of each token in the aggregate.
        func weight(_ i: Int) -> Double {
            switch s.aggregation {
            case .tokenMean: return tokenCount == 0 ? 0 : 1 / Double(tokenCount)
            case .seqMeanTokenMean:
                let n = seqs[i].logp.count
                return n == 0 ? 0 : 1 / (Double(n) * Double(seqs.count))
            case .seqMeanTokenSumNorm: return 1 / (Double(seqs.count) * Double(max(1, s.maxResponseLength)))
            }
        }
        var loss = 0.0, pg = 0.0, kl = 0.0
        var clipped = 0, approx = 0.0, refKL = 0.0
        var grads: [[Double]] = []
        grads.reserveCapacity(seqs.count)
        for (i, q) in seqs.enumerated() {
            let w = weight(i)
            var g = [Double](repeating: 0, count: q.logp.count)
            for t in 0..<q.logp.count {
                let a = q.advantages[t]
                let ratio = exp(q.logp[t] - q.oldLogp[t])
                let unclipped = -a * ratio
                let clippedTerm = -a * min(max(ratio, 1 - s.clipLow), 1 + s.clipHigh)
                var term = max(unclipped, clippedTerm)
                // The gradient flows only through the unclipped branch when it is the one taken.
                var dTerm = unclipped >= clippedTerm ? -a * ratio : 0
                if clippedTerm > unclipped { clipped += 1 }
                if let c = s.dualClip, a < 0, -a * c < term {
                    term = -a * c
                    dTerm = 0
                }
                approx += q.oldLogp[t] - q.logp[t]
                pg += w * term
                g[t] = w * dTerm
                if let ref = q.refLogp?[t] {
                    let k = s.klEstimator.value(logp: q.logp[t], ref: ref)
                    refKL += k
                    if s.klPlacement == .loss, s.klBeta != 0 {
                        kl += w * s.klBeta * k
                        g[t] += w * s.klBeta * s.klEstimator.derivative(logp: q.logp[t], ref: ref)
                    }
                }
            }
            grads.append(g)
        }
        loss = pg + kl
        let n = Double(max(1, tokenCount))
        return LossOutput(
            loss: loss, gradLogp: grads, pgLoss: pg, klLoss: kl, clipFraction: Double(clipped) / n,
            approxKL: approx / n, refKL: refKL / n)
    }
}
