import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRL

/// The clipped loss, the KL estimators and the network's backward pass, checked against central finite
/// differences of the loss through the tiny model.
@Suite("Policy loss gradients through the tiny model")
struct GradientCheckTests {
    static func policy() -> TinyPolicy {
        var p = TinyPolicy(codec: DigitCodec(width: 2), dModel: 8, heads: 2, layers: 2, learningRate: 0, seed: 3)
        // Larger weights than the init so the check exercises non-trivial attention and GELU regions.
        var rng = SplitMix64(seed: 11)
        for i in p.model.parameters.indices { p.model.parameters[i] += 0.3 * rng.normal() }
        return p
    }

    static func samples(_ p: TinyPolicy, seed: UInt64, withReference: Bool) -> [TrainSample] {
        var rng = SplitMix64(seed: seed)
        let prompts = try! [p.codec.encodePrompt("12 + 9"), p.codec.encodePrompt("99 + 99"), p.codec.encodePrompt("5 + 40")]
        let responses: [[Int32]] = [[1, 2, 0, 12], [8, 9, 1, 12], [5, 4, 12]]
        let current = p.logprobs(prompts: prompts, responses: responses)
        return zip(prompts, zip(responses, current)).map { prompt, rc in
            let (r, lp) = rc
            // Old log-probs: the current ones moved so that some ratios fall outside [0.8, 1.2].
            let old = lp.map { $0 + 0.5 * rng.normal() }
            let ref = withReference ? lp.map { $0 + 0.3 * rng.normal() } : nil
            let adv = r.map { _ in rng.normal() }
            return TrainSample(promptTokens: prompt, responseTokens: r, oldLogprobs: old, refLogprobs: ref, advantages: adv)
        }
    }

    static func check(settings: LossSettings, withReference: Bool) -> (maxRelError: Double, clip: Double) {
        var p = policy()
        let s = samples(p, seed: 5, withReference: withReference)
        let (out, grad, _) = p.lossAndGradient(s, settings: settings)
        var worst = 0.0
        var rng = SplitMix64(seed: 9)
        let h = 1e-5
        for _ in 0..<40 {
            let i = rng.int(in: 0...(p.model.parameterCount - 1))
            let saved = p.model.parameters[i]
            p.model.parameters[i] = saved + h
            let plus = p.lossAndGradient(s, settings: settings).0.loss
            p.model.parameters[i] = saved - h
            let minus = p.lossAndGradient(s, settings: settings).0.loss
            p.model.parameters[i] = saved
            let numeric = (plus - minus) / (2 * h)
            let err = abs(numeric - grad[i]) / max(1e-6, abs(numeric) + abs(grad[i]))
            worst = max(worst, err)
        }
        return (worst, out.clipFraction)
    }

    @Test(arguments: LossAggregation.allCases)
    func clippedLossMatchesFiniteDifferences(aggregation: LossAggregation) {
        var s = LossSettings()
        s.aggregation = aggregation
        s.clipHigh = 0.28
        s.dualClip = 3
        s.maxResponseLength = 4
        let (err, clip) = Self.check(settings: s, withReference: false)
        #expect(clip > 0, "the check must include clipped tokens")
        #expect(err < 1e-4)
    }

    @Test(arguments: KLEstimator.allCases)
    func klInTheLossMatchesFiniteDifferences(estimator: KLEstimator) {
        var s = LossSettings()
        s.klBeta = 0.5
        s.klEstimator = estimator
        let (err, _) = Self.check(settings: s, withReference: true)
        #expect(err < 1e-4)
    }

    @Test func supervisedLossMatchesFiniteDifferences() {
        var p = Self.policy()
        let prompts = try! [p.codec.encodePrompt("12 + 9"), p.codec.encodePrompt("7 + 3")]
        let targets = try! [p.codec.encodeAnswer("21"), p.codec.encodeAnswer("10")]
        let (_, grad) = p.supervisedLossAndGradient(prompts: prompts, targets: targets)
        var rng = SplitMix64(seed: 2)
        for _ in 0..<30 {
            let i = rng.int(in: 0...(p.model.parameterCount - 1))
            let saved = p.model.parameters[i]
            p.model.parameters[i] = saved + 1e-5
            let plus = p.supervisedLossAndGradient(prompts: prompts, targets: targets).loss
            p.model.parameters[i] = saved - 1e-5
            let minus = p.supervisedLossAndGradient(prompts: prompts, targets: targets).loss
            p.model.parameters[i] = saved
            let numeric = (plus - minus) / 2e-5
            #expect(abs(numeric - grad[i]) <= 1e-6 + 1e-4 * abs(numeric), "parameter \(i)")
        }
    }

    @Test func estimatorsByHand() {
        // logp = −1, ref = −1.5: k1 = 0.5; k3 = e^(−0.5) + 0.5 − 1.
        #expect(abs(KLEstimator.k1.value(logp: -1, ref: -1.5) - 0.5) < 1e-12)
        #expect(abs(KLEstimator.k3.value(logp: -1, ref: -1.5) - (exp(-0.5) - 0.5)) < 1e-12)
        #expect(KLEstimator.k3.value(logp: -2, ref: -2) == 0)
    }

    @Test func clipAndDualClipByHand() {
        var s = LossSettings()
        s.dualClip = 3
        // ratio e^1 = 2.718 with A = +1: clipped at 1.2 → loss −1.2, no gradient, clipped.
        let up = PolicyLoss.compute([LossSequence(logp: [0], oldLogp: [-1], advantages: [1])], settings: s)
        #expect(abs(up.loss + 1.2) < 1e-12 && up.gradLogp[0][0] == 0 && up.clipFraction == 1)
        // ratio e^2 = 7.39 with A = −1: max(7.39, 1.2) = 7.39, dual clip caps it at 3.
        let down = PolicyLoss.compute([LossSequence(logp: [0], oldLogp: [-2], advantages: [-1])], settings: s)
        #expect(abs(down.loss - 3) < 1e-12 && down.gradLogp[0][0] == 0)
        // ratio 1 with A = 2: −2, gradient −2.
        let inside = PolicyLoss.compute([LossSequence(logp: [-1], oldLogp: [-1], advantages: [2])], settings: s)
        #expect(abs(inside.loss + 2) < 1e-12 && abs(inside.gradLogp[0][0] + 2) < 1e-12 && inside.clipFraction == 0)
    }
}
