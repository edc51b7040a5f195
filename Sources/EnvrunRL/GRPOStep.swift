import EnvrunCore
import Foundation

extension GRPODriver {
    /// Token-order step rewards and step ends for a tiny-policy response: the Environment's digit steps
    /// come in text order (most significant first), the policy wrote them least significant first. The
    /// last step also owns the end token. nil when the steps do not line up with the written digits.
    static func tokenSteps(_ steps: [Double]?, response: [Int32]) -> (rewards: [Double], ends: [Int])? {
        guard let steps, !steps.isEmpty else { return nil }
        let digits = response.prefix { $0 != DigitCodec.end }
        guard digits.count == steps.count, digits.allSatisfy({ (0...9).contains($0) }) else { return nil }
        let rewards = Array(steps.reversed())
        var ends = Array(0..<steps.count)
        ends[ends.count - 1] = response.count - 1
        return (rewards, ends)
    }

    func grpoStep() async throws {
        let c = config
        let t0 = Date()
        let idx = nextBatch(c.promptsPerStep)
        var prompts: [[Int32]] = [], groups: [Int] = [], ids: [String] = []
        for (g, i) in idx.enumerated() {
            for _ in 0..<c.groupSize {
                prompts.append(trainPrompts[i])
                groups.append(g)
                ids.append(train[i].id)
            }
        }
        // Sampling goes through the `Policy` protocol like any other policy; the RNG comes back out so the
        // checkpoint holds it.
        var sampler = TinyRolloutPolicy(policy: policy, rng: rng)
        let sampled = try await sampler.rollouts(
            for: idx.map { PolicyPrompt(pack: c.pack, taskID: train[$0].id, text: train[$0].prompt) }, samples: c.groupSize)
        rng = sampler.rng
        let gen = sampled.map { (tokens: $0.responseIDs.map(Int32.init), logprobs: $0.logprobs, truncated: $0.truncated) }
        let tGen = Date()
        let texts = sampled.map(\.responseText)
        let rewards = try await score(taskIDs: ids, texts: texts)
        let tReward = Date()

        // Samples whose check failed are masked out, never scored 0.
        let ok = rewards.map { $0.status == .ok }
        var keep = (0..<prompts.count).filter { ok[$0] }
        var refLogprobs: [[Double]]? = nil
        if c.loss.klBeta > 0, let ref = policy.reference {
            refLogprobs = policy.logprobs(prompts: prompts, responses: gen.map(\.tokens), parameters: ref)
        }
        var scores = rewards.map(\.reward)
        if c.loss.klPlacement == .reward, c.loss.klBeta > 0, let refs = refLogprobs {
            for i in scores.indices {
                let kl = zip(gen[i].logprobs, refs[i]).reduce(0) { $0 + c.loss.klEstimator.value(logp: $1.0, ref: $1.1) }
                scores[i] -= c.loss.klBeta * kl
            }
        }
        var dropped = 0
        if c.dropZeroVarianceGroups {
            let spread = Advantages.groupsWithSpread(scores: keep.map { scores[$0] }, groups: keep.map { groups[$0] })
            let before = Set(keep.map { groups[$0] }).count
            keep = keep.filter { spread.contains(groups[$0]) }
            dropped = before - Set(keep.map { groups[$0] }).count
        }
        var advantages: [[Double]] = []
        var stepMean = 0.0
        switch c.supervision {
        case .outcome:
            let a = Advantages.outcome(scores: keep.map { scores[$0] }, groups: keep.map { groups[$0] }, convention: c.convention)
            advantages = zip(keep, a).map { i, v in Advantages.perToken(v, length: gen[i].tokens.count, discount: c.discount) }
        case .process:
            var stepRewards: [[Double]] = [], ends: [[Int]] = []
            for i in keep {
                if let s = Self.tokenSteps(rewards[i].stepRewards, response: gen[i].tokens) {
                    stepRewards.append(s.rewards)
                    ends.append(s.ends)
                } else {
                    stepRewards.append([scores[i]])
                    ends.append([gen[i].tokens.count - 1])
                }
            }
            let all = stepRewards.flatMap { $0 }
            stepMean = all.isEmpty ? 0 : all.reduce(0, +) / Double(all.count)
            advantages = Advantages.process(
                stepRewards: stepRewards, stepEnds: ends, lengths: keep.map { gen[$0].tokens.count },
                groups: keep.map { groups[$0] }, convention: c.convention)
        }
        let samples = zip(keep, advantages).map { i, a in
            TrainSample(
                promptTokens: prompts[i], responseTokens: gen[i].tokens, oldLogprobs: gen[i].logprobs,
                refLogprobs: refLogprobs?[i], advantages: a)
        }
        var stats: [UpdateStats] = []
        if !samples.isEmpty {
            var loss = c.loss
            loss.maxResponseLength = policy.codec.maxResponseTokens
            let per = (samples.count + c.miniBatches - 1) / c.miniBatches
            for _ in 0..<c.epochs {
                for start in stride(from: 0, to: samples.count, by: per) {
                    stats.append(policy.update(Array(samples[start..<min(samples.count, start + per)]), settings: loss))
                }
            }
        }
        let tUpdate = Date()
        step += 1

        var m: [String: Double] = ["train/phase": 1, "train/step": Double(step)]
        let okScores = (0..<prompts.count).filter { ok[$0] }.map { rewards[$0].reward }
        m["critic/score/mean"] = mean(okScores)
        var bySource: [String: [Double]] = [:]
        for (i, r) in rewards.enumerated() where ok[i] { bySource[r.source.rawValue, default: []].append(r.reward) }
        for (s, v) in bySource { m["critic/score/\(s)/mean"] = mean(v) }
        let flatAdv = advantages.flatMap { $0 }
        m["critic/advantages/mean"] = mean(flatAdv)
        m["critic/advantages/max"] = flatAdv.max() ?? 0
        m["critic/advantages/min"] = flatAdv.min() ?? 0
        if c.supervision == .process { m["critic/step_score/mean"] = stepMean }
        m["actor/pg_loss"] = mean(stats.map(\.pgLoss))
        m["actor/kl_loss"] = mean(stats.map(\.klLoss))
        m["actor/pg_clipfrac"] = mean(stats.map(\.clipFraction))
        m["actor/ppo_kl"] = mean(stats.map(\.approxKL))
        m["actor/kl_ref"] = mean(stats.map(\.refKL))
        m["actor/entropy"] = mean(stats.map(\.entropy))
        m["actor/grad_norm"] = mean(stats.map(\.gradNorm))
        let lengths = gen.map { Double($0.tokens.count) }
        m["response_length/mean"] = mean(lengths)
        m["response/truncated_frac"] = mean(gen.map { $0.truncated ? 1 : 0 })
        m["reward/errors"] = Double(ok.filter { !$0 }.count)
        m["reward/dropped_groups"] = Double(dropped)
        m["actor/samples"] = Double(samples.count)
        m["timing_s/gen"] = tGen.timeIntervalSince(t0)
        m["timing_s/reward"] = tReward.timeIntervalSince(tGen)
        m["timing_s/update"] = tUpdate.timeIntervalSince(tReward)
        let tokens = lengths.reduce(0, +) + Double(prompts.count * policy.codec.promptLength)
        let stepTime = max(1e-9, tUpdate.timeIntervalSince(t0))
        m["perf/tokens_per_s"] = tokens / stepTime
        m["perf/rollouts_per_s"] = Double(prompts.count) / stepTime
        m["train/policy_version"] = Double(policy.version)
        if step % c.evalEvery == 0 {
            let acc = try await evaluate()
            lastEval = acc
            bestEval = max(bestEval ?? acc, acc)
            m["eval/exact_match"] = acc
        }
        m["timing_s/step"] = Date().timeIntervalSince(t0)
        try log(m)
        var p = TrainProgress(phase: "grpo", step: step, totalSteps: c.steps)
        p.rewardBySource = bySource.mapValues(mean)
        p.accuracy = lastEval
        p.kl = m["actor/ppo_kl"]!
        p.clipFraction = m["actor/pg_clipfrac"]!
        p.tokensPerSecond = m["perf/tokens_per_s"]!
        p.loss = m["actor/pg_loss"]!
        progress?(p)
    }

    // MARK: Checkpoints

    func checkpoint() throws {
        let fm = FileManager.default
        let tmp = run.url.appendingPathComponent("checkpoint.tmp")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        let state = CheckpointState(
            phase: phase, step: step, warmupStep: warmupStep, rngState: rng.state, cursor: cursor, epoch: epoch,
            metricLines: metricLines, elapsedSeconds: wallSeconds, lastEval: lastEval, warmupAccuracy: warmupAccuracy,
            policyVersion: policy.version, adam: policy.optimizer, parameterCount: policy.model.parameterCount,
            hasReference: policy.reference != nil)
        var arrays = [policy.model.parameters, policy.optimizer.m, policy.optimizer.v]
        if let ref = policy.reference { arrays.append(ref) }
        try TensorFile.write(arrays, to: tmp.appendingPathComponent("tensors.bin"))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var stateDict = try JSONSerialization.jsonObject(with: enc.encode(state)) as! [String: Any]
        stateDict["best_eval"] = bestEval
        try JSONSerialization.data(withJSONObject: stateDict, options: [.prettyPrinted, .sortedKeys])
            .write(to: tmp.appendingPathComponent("state.json"))
        let old = run.url.appendingPathComponent("checkpoint.old")
        try? fm.removeItem(at: old)
        if fm.fileExists(atPath: run.checkpointURL.path) { try fm.moveItem(at: run.checkpointURL, to: old) }
        try fm.moveItem(at: tmp, to: run.checkpointURL)
        try? fm.removeItem(at: old)
    }

    func restore() throws {
        let dir = run.checkpointURL
        let data = try Data(contentsOf: dir.appendingPathComponent("state.json"))
        let state = try JSONDecoder().decode(CheckpointState.self, from: data)
        let extra = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        let n = state.parameterCount
        guard n == policy.model.parameterCount else {
            throw EnvrunError(.invalidInput, "the checkpoint's model has \(n) parameters, the config's \(policy.model.parameterCount)", field: "checkpoint")
        }
        let arrays = try TensorFile.read(dir.appendingPathComponent("tensors.bin"), counts: [n, n, n] + (state.hasReference ? [n] : []))
        policy.model.parameters = arrays[0]
        var adam = state.adam
        adam.m = arrays[1]
        adam.v = arrays[2]
        policy.optimizer = adam
        policy.reference = state.hasReference ? arrays[3] : nil
        policy.version = state.policyVersion
        phase = state.phase
        step = state.step
        warmupStep = state.warmupStep
        rng = SplitMix64(seed: state.rngState)
        epoch = state.epoch
        order = shuffled(epoch: epoch)
        cursor = state.cursor
        metricLines = state.metricLines
        elapsedBefore = state.elapsedSeconds
        lastEval = state.lastEval
        warmupAccuracy = state.warmupAccuracy
        bestEval = extra?["best_eval"] as? Double
        try run.truncateMetrics(toLines: metricLines)
    }
}

func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
