import EnvrunCore
import Foundation

/// Settings of a rollout-collection run (`envrun train --policy openai`).
public struct CollectConfig: Sendable, Codable, Equatable {
    /// One or more packs; prompts are drawn from them in turn, so a run can mix rule-scored and
    /// RM-scored packs (the hybrid run) and report the reward per source.
    public var packs: [String] = ["gsm8k"]
    public var seed: UInt64 = 1
    public var steps = 2
    public var promptsPerStep = 4
    public var groupSize = 4
    public var convention = AdvantageConvention.verl
    public var discount = 1.0
    public var scoreConcurrency = 8
    public init() {}
}

/// Samples groups from a `Policy`, scores them through the Environment and writes one JSONL training
/// batch per step (`batches/step-NNNNNN.jsonl`) with per-token advantages, plus `metrics.jsonl`.
/// Samples whose check failed keep their record with `"status": "error"` and `"mask": false`, and stay out
/// of the group statistics: a trainer drops them; they are never a reward of 0.
public final class BatchCollector<P: Policy> {
    public let config: CollectConfig
    let env: any Environment
    public var policy: P
    let run: RunDirectory
    var tasks: [String: [TaskSpec]] = [:]
    var cursors: [String: Int] = [:]
    public var progress: (@Sendable (TrainProgress) -> Void)?

    public init(config: CollectConfig, environment: any Environment, policy: P, run: RunDirectory) throws {
        self.config = config
        env = environment
        self.policy = policy
        self.run = run
        let infos = environment.packs()
        for name in config.packs {
            guard let info = infos.first(where: { $0.name == name }) else {
                throw EnvrunError(.notFound, "no pack named \(name) (known: \(infos.map(\.name).joined(separator: ", ")))", field: "pack")
            }
            var all = try environment.tasks(pack: name, offset: 0, limit: info.taskCount)
            var r = SplitMix64(seed: config.seed &+ UInt64(tasks.count))
            r.shuffle(&all)
            tasks[name] = all
            cursors[name] = 0
        }
    }

    func nextPrompts() -> [PolicyPrompt] {
        (0..<config.promptsPerStep).map { i in
            let pack = config.packs[i % config.packs.count]
            let list = tasks[pack]!
            let k = cursors[pack]! % list.count
            cursors[pack]! += 1
            return PolicyPrompt(pack: pack, taskID: list[k].id, text: list[k].prompt)
        }
    }

    public func batchURL(step: Int) -> URL {
        run.url.appendingPathComponent("batches").appendingPathComponent(String(format: "step-%06d.jsonl", step))
    }

    public func run() async throws {
        try run.create()
        try FileManager.default.createDirectory(at: run.url.appendingPathComponent("batches"), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: run.metricsURL)
        let started = Date()
        for step in 1...max(1, config.steps) {
            let t0 = Date()
            let prompts = nextPrompts()
            let samples = try await policy.rollouts(for: prompts, samples: config.groupSize)
            let tGen = Date()
            let items = samples.indices.map { i -> ScoreItem in
                let p = prompts[i / config.groupSize]
                return ScoreItem(pack: p.pack, taskID: p.taskID, response: samples[i].responseText)
            }
            let rewards = await scoreAll(env, items, limit: config.scoreConcurrency)
            let tReward = Date()
            let ok = rewards.map { $0.status == .ok }
            let keep = samples.indices.filter { ok[$0] }
            let adv = Advantages.outcome(
                scores: keep.map { rewards[$0].reward }, groups: keep.map { $0 / config.groupSize }, convention: config.convention)
            var advantage = [Double?](repeating: nil, count: samples.count)
            for (k, i) in keep.enumerated() { advantage[i] = adv[k] }
            var lines: [String] = []
            for (i, s) in samples.enumerated() {
                let p = prompts[i / config.groupSize]
                let r = rewards[i]
                var rec: [String: Any] = [
                    "group_id": "\(step)-\(i / config.groupSize)", "step": step, "pack": p.pack, "task_id": p.taskID,
                    "prompt": p.text, "response": s.responseText, "prompt_ids": s.promptIDs, "response_ids": s.responseIDs,
                    "response_mask": [Int](repeating: 1, count: s.responseIDs.count), "rollout_logprobs": s.logprobs,
                    "ids_aligned": s.idsAligned, "truncated": s.truncated, "policy_version": s.policyVersion,
                    "status": r.status.rawValue, "mask": ok[i], "reward_source": r.source.rawValue,
                ]
                var bySource: [String: Double] = [r.source.rawValue: r.reward]
                for (k, v) in r.components where r.source == .hybrid { bySource[k] = v }
                rec["reward_by_source"] = ok[i] ? bySource : [:]
                rec["reward"] = ok[i] ? r.reward : NSNull()
                rec["step_rewards"] = r.stepRewards ?? []
                if let a = advantage[i] {
                    rec["advantage"] = a
                    rec["advantages"] = Advantages.perToken(a, length: s.responseIDs.count, discount: config.discount)
                } else {
                    rec["advantage"] = NSNull()
                    rec["advantages"] = [Double](repeating: 0, count: s.responseIDs.count)
                }
                if let e = r.details["error"] { rec["error"] = e }
                let data = try JSONSerialization.data(withJSONObject: rec, options: [.sortedKeys])
                lines.append(String(decoding: data, as: UTF8.self))
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: batchURL(step: step), options: .atomic)
            var m: [String: Double] = ["train/step": Double(step), "train/phase": 1]
            m["critic/score/mean"] = mean(keep.map { rewards[$0].reward })
            var bySource: [String: [Double]] = [:]
            for i in keep { bySource[rewards[i].source.rawValue, default: []].append(rewards[i].reward) }
            for (s, v) in bySource { m["critic/score/\(s)/mean"] = mean(v) }
            m["critic/advantages/mean"] = mean(adv)
            m["reward/errors"] = Double(ok.filter { !$0 }.count)
            m["response_length/mean"] = mean(samples.map { Double($0.responseIDs.count) })
            m["response/truncated_frac"] = mean(samples.map { $0.truncated ? 1 : 0 })
            m["timing_s/gen"] = tGen.timeIntervalSince(t0)
            m["timing_s/reward"] = tReward.timeIntervalSince(tGen)
            m["timing_s/update"] = 0
            m["perf/rollouts_per_s"] = Double(samples.count) / max(1e-9, tReward.timeIntervalSince(t0))
            m["train/wall_s"] = Date().timeIntervalSince(started)
            try run.appendMetrics(m)
            var pr = TrainProgress(phase: "collect", step: step, totalSteps: config.steps)
            pr.rewardBySource = bySource.mapValues(mean)
            progress?(pr)
        }
    }

}
