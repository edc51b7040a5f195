import Foundation

/// How a group's rewards become advantages: the two conventions trainers ship.
///
/// - `verl` (`compute_grpo_outcome_advantage`): (r − mean) / (std + 1e-6), unbiased std per group; a group
///   of one has mean 0 and std 1 (its advantage is its reward). `normalizeByStd = false` is Dr. GRPO.
/// - `trl` (`GRPOTrainer`): (r − mean) / (std + 1e-4), unbiased std; `scaling` per group, per batch (the
///   std of every reward in the batch, the mean still per group) or none. A group of one has advantage 0.
public struct AdvantageConvention: Sendable, Equatable, Codable {
    public enum Style: String, Sendable, Codable, CaseIterable { case verl, trl }
    public enum Scaling: String, Sendable, Codable, CaseIterable { case group, batch, none }

    public var style: Style
    public var epsilon: Double
    public var scaling: Scaling

    public init(style: Style, epsilon: Double? = nil, scaling: Scaling = .group) {
        self.style = style
        self.epsilon = epsilon ?? (style == .verl ? 1e-6 : 1e-4)
        self.scaling = scaling
    }

    public static let verl = AdvantageConvention(style: .verl)
    /// verl with `norm_adv_by_std_in_grpo = False`.
    public static let drGRPO = AdvantageConvention(style: .verl, scaling: .none)
    public static let trl = AdvantageConvention(style: .trl)
}

/// Mean and unbiased standard deviation; the std of fewer than two values is 0.
func meanAndUnbiasedStd(_ xs: [Double]) -> (mean: Double, std: Double) {
    guard !xs.isEmpty else { return (0, 0) }
    let mean = xs.reduce(0, +) / Double(xs.count)
    guard xs.count > 1 else { return (mean, 0) }
    let ss = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    return (mean, (ss / Double(xs.count - 1)).squareRoot())
}

public enum Advantages {
    /// Outcome supervision: one advantage per response from its scalar score. `groups[i]` is the group id of
    /// response i (the responses of one prompt share it); groups need not be contiguous.
    public static func outcome(scores: [Double], groups: [Int], convention: AdvantageConvention) -> [Double] {
        precondition(scores.count == groups.count)
        var members: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() { members[g, default: []].append(i) }
        let batchStd = meanAndUnbiasedStd(scores).std
        var out = [Double](repeating: 0, count: scores.count)
        for (_, idx) in members {
            let values = idx.map { scores[$0] }
            var (mean, std) = meanAndUnbiasedStd(values)
            if convention.style == .verl, idx.count == 1 { (mean, std) = (0, 1) }
            for i in idx {
                let centred = scores[i] - mean
                switch convention.scaling {
                case .none: out[i] = centred
                case .group: out[i] = centred / (std + convention.epsilon)
                case .batch: out[i] = centred / (batchStd + convention.epsilon)
                }
            }
        }
        return out
    }

    /// Process supervision (DeepSeekMath §4.1.3): every step reward of a group is normalised with the mean
    /// and std of all the group's step rewards together; a token's advantage is the sum of the normalised
    /// rewards of the steps that end at or after it. `stepEnds[i][j]` is the index (in response i's tokens)
    /// of the last token of step j, increasing; tokens after the last step end get 0. Returns per-token
    /// advantages, `lengths[i]` tokens for response i. The convention gives ε, the group-of-one rule and
    /// whether the std divides (`scaling: .none` only centres; `.batch` uses the std of every step reward).
    public static func process(
        stepRewards: [[Double]], stepEnds: [[Int]], lengths: [Int], groups: [Int], convention: AdvantageConvention
    ) -> [[Double]] {
        precondition(stepRewards.count == groups.count && stepEnds.count == groups.count && lengths.count == groups.count)
        var members: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() { members[g, default: []].append(i) }
        let batchStd = meanAndUnbiasedStd(stepRewards.flatMap { $0 }).std
        var normalised = stepRewards
        for (_, idx) in members {
            let all = idx.flatMap { stepRewards[$0] }
            var (mean, std) = meanAndUnbiasedStd(all)
            if convention.style == .verl, all.count == 1 { (mean, std) = (0, 1) }
            for i in idx {
                normalised[i] = stepRewards[i].map { r in
                    let c = r - mean
                    switch convention.scaling {
                    case .none: return c
                    case .group: return c / (std + convention.epsilon)
                    case .batch: return c / (batchStd + convention.epsilon)
                    }
                }
            }
        }
        var out: [[Double]] = []
        out.reserveCapacity(groups.count)
        for i in 0..<groups.count {
            precondition(stepRewards[i].count == stepEnds[i].count, "one end index per step")
            var adv = [Double](repeating: 0, count: lengths[i])
            // Walk backwards accumulating the rewards of steps ending at or after t.
            var j = stepEnds[i].count - 1
            var acc = 0.0
            var t = lengths[i] - 1
            while t >= 0 {
                while j >= 0, stepEnds[i][j] >= t {
                    acc += normalised[i][j]
                    j -= 1
                }
                adv[t] = acc
                t -= 1
            }
            out.append(adv)
        }
        return out
    }

    /// Spreads a response's outcome advantage over its tokens: the same value everywhere (γ = 1, the sparse
    /// reward at the last token), or discounted back from the last token, A·γ^(L−1−t).
    public static func perToken(_ advantage: Double, length: Int, discount: Double = 1) -> [Double] {
        guard discount != 1 else { return [Double](repeating: advantage, count: length) }
        var out = [Double](repeating: 0, count: length)
        var w = 1.0
        for t in stride(from: length - 1, through: 0, by: -1) {
            out[t] = advantage * w
            w *= discount
        }
        return out
    }

    /// Indices of the groups whose scores are not all equal (DAPO's dynamic sampling keeps only these).
    public static func groupsWithSpread(scores: [Double], groups: [Int]) -> Set<Int> {
        var lo: [Int: Double] = [:], hi: [Int: Double] = [:]
        for (s, g) in zip(scores, groups) {
            lo[g] = min(lo[g] ?? s, s)
            hi[g] = max(hi[g] ?? s, s)
        }
        return Set(lo.keys.filter { hi[$0]! - lo[$0]! > 1e-12 })
    }
}
