import EnvrunCore
import Foundation

/// What the progress bar shows after each step.
public struct TrainProgress: Sendable {
    public var phase: String
    public var step: Int
    public var totalSteps: Int
    public var rewardBySource: [String: Double] = [:]
    public var accuracy: Double?
    public var kl = 0.0
    public var clipFraction = 0.0
    public var tokensPerSecond = 0.0
    public var loss = 0.0
    public var message: String?
}

public struct TrainSummary: Sendable, Codable {
    public var warmupSteps: Int
    public var warmupAccuracy: Double?
    public var steps: Int
    public var finalAccuracy: Double?
    public var bestAccuracy: Double?
    public var wallSeconds: Double
    public var stoppedBecause: String
    public var parameterCount: Int
}

/// The RL driver for the in-process `tiny` policy: a supervised warm-up, then GRPO whose rewards come from
/// the same `Environment` the server uses. Deterministic from `config.seed`: every random draw comes from
/// one SplitMix64 whose state the checkpoint saves, so a resumed run ends bit-identical to one that was
/// never interrupted.
public final class GRPODriver {
    public let config: TrainConfig
    let env: any Environment
    let run: RunDirectory
    var policy: TinyPolicy
    var rng: SplitMix64
    let train: [TaskSpec]
    let eval: [TaskSpec]
    let trainPrompts: [[Int32]]
    let evalPrompts: [[Int32]]
    var phase = "warmup"
    var step = 0
    var warmupStep = 0
    var cursor = 0
    var epoch = 0
    var order: [Int] = []
    var metricLines = 0
    var elapsedBefore = 0.0
    var lastEval: Double?
    var bestEval: Double?
    var warmupAccuracy: Double?
    let started = Date()
    public var progress: (@Sendable (TrainProgress) -> Void)?
    /// Stops the run after this many GRPO steps of *this* process (tests interrupt a run with it).
    public var interruptAfter: Int?

    /// Loads the pack's tasks through the Environment and splits them; the codec's width is the widest
    /// operand in the pack.
    public init(config: TrainConfig, environment: any Environment, run: RunDirectory) throws {
        guard let info = environment.packs().first(where: { $0.name == config.pack }) else {
            throw EnvrunError(.notFound, "no pack named \(config.pack)", field: "pack")
        }
        guard config.evalTasks > 0, config.evalTasks < info.taskCount else {
            throw EnvrunError(.invalidInput, "--eval-tasks must be between 1 and \(info.taskCount - 1)", field: "eval_tasks")
        }
        guard config.groupSize >= 1, config.promptsPerStep >= 1, config.miniBatches >= 1,
            config.miniBatches <= config.promptsPerStep * config.groupSize
        else {
            throw EnvrunError(.invalidInput, "need group size ≥ 1, prompts per step ≥ 1 and 1 ≤ mini-batches ≤ samples per step", field: "config")
        }
        if config.supervision == .process, config.loss.klPlacement == .reward, config.loss.klBeta > 0 {
            throw EnvrunError(.invalidInput, "process supervision takes the KL in the loss (--kl-in loss)", field: "kl_in")
        }
        self.config = config
        env = environment
        self.run = run
        let all = try environment.tasks(pack: config.pack, offset: 0, limit: info.taskCount)
        train = Array(all.prefix(all.count - config.evalTasks))
        eval = Array(all.suffix(config.evalTasks))
        let width = all.map { t in (DigitCodec.operands(in: t.prompt) ?? []).map(\.count).max() ?? 0 }.max() ?? 1
        let codec = DigitCodec(width: max(1, width))
        trainPrompts = try train.map { try codec.encodePrompt($0.prompt) }
        evalPrompts = try eval.map { try codec.encodePrompt($0.prompt) }
        policy = TinyPolicy(
            codec: codec, dModel: config.dModel, heads: config.heads, layers: config.layers,
            learningRate: config.warmupLearningRate, seed: config.seed)
        rng = SplitMix64(seed: config.seed ^ 0x5EED_0F_A11)
        order = shuffled(epoch: 0)
        Dense.setThreads(config.blasThreads)
    }

    public var parameters: [Double] { policy.model.parameters }

    func shuffled(epoch: Int) -> [Int] {
        var r = SplitMix64(seed: config.seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var idx = Array(0..<train.count)
        r.shuffle(&idx)
        return idx
    }

    func nextBatch(_ n: Int) -> [Int] {
        var out: [Int] = []
        while out.count < n {
            if cursor == order.count {
                epoch += 1
                cursor = 0
                order = shuffled(epoch: epoch)
            }
            out.append(order[cursor])
            cursor += 1
        }
        return out
    }

    var wallSeconds: Double { elapsedBefore + Date().timeIntervalSince(started) }

    // MARK: Run

    /// Runs (or resumes) to the end; returns the summary also written to `summary.json`.
    public func run(resume: Bool) async throws -> TrainSummary {
        try run.create()
        if resume, FileManager.default.fileExists(atPath: run.checkpointURL.appendingPathComponent("state.json").path) {
            try restore()
        } else {
            try run.writeConfig(config)
            try? FileManager.default.removeItem(at: run.metricsURL)
            try? FileManager.default.removeItem(at: run.checkpointURL)
        }
        var localSteps = 0
        var stopped = "steps"
        if phase == "warmup" {
            policy.optimizer.learningRate = config.warmupLearningRate
            while warmupStep < config.warmupMaxSteps {
                if warmupStep % config.warmupEvalEvery == 0 {
                    let acc = try await evaluate()
                    warmupAccuracy = acc
                    try log(["train/phase": 0, "train/warmup_step": Double(warmupStep), "eval/exact_match": acc])
                    progress?(TrainProgress(phase: "warmup", step: warmupStep, totalSteps: config.warmupMaxSteps, accuracy: acc))
                    if acc >= config.warmupUntil { break }
                }
                let idx = nextBatch(config.warmupBatch)
                let targets = try idx.map { try policy.codec.encodeAnswer(train[$0].answer ?? "") }
                let loss = policy.supervisedStep(prompts: idx.map { trainPrompts[$0] }, targets: targets)
                warmupStep += 1
                if warmupStep % 5 == 0 {
                    progress?(TrainProgress(phase: "warmup", step: warmupStep, totalSteps: config.warmupMaxSteps, accuracy: warmupAccuracy, loss: loss))
                }
            }
            phase = "grpo"
            policy.freezeReference()
            policy.optimizer = Adam(parameterCount: policy.model.parameterCount, learningRate: config.learningRate)
            try checkpoint()
        }
        policy.optimizer.learningRate = config.learningRate
        while phase == "grpo", step < config.steps {
            if config.maxMinutes > 0, wallSeconds > config.maxMinutes * 60 { stopped = "time"; break }
            if let n = interruptAfter, localSteps >= n { stopped = "interrupted"; break }
            try await grpoStep()
            localSteps += 1
            if config.stopAt > 0, let e = lastEval, e >= config.stopAt { stopped = "target"; break }
            if step % config.checkpointEvery == 0 { try checkpoint() }
        }
        if stopped != "interrupted" {
            if step % config.evalEvery != 0 || lastEval == nil {
                let acc = try await evaluate()
                lastEval = acc
                bestEval = max(bestEval ?? acc, acc)
                try log(["train/phase": 2, "train/step": Double(step), "eval/exact_match": acc])
            }
            phase = "done"
        }
        try checkpoint()
        let summary = TrainSummary(
            warmupSteps: warmupStep, warmupAccuracy: warmupAccuracy, steps: step, finalAccuracy: lastEval,
            bestAccuracy: bestEval, wallSeconds: wallSeconds, stoppedBecause: stopped, parameterCount: policy.model.parameterCount)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(summary).write(to: run.summaryURL, options: .atomic)
        return summary
    }

    func log(_ m: [String: Double]) throws {
        var m = m
        m["train/wall_s"] = wallSeconds
        try run.appendMetrics(m)
        metricLines += 1
    }

    /// Greedy held-out exact match, judged by the Environment (reward 1 with status ok).
    public func evaluate() async throws -> Double {
        var r = rng  // greedy decoding draws nothing; keep the run's RNG untouched anyway
        var correct = 0
        let chunk = 500
        var start = 0
        while start < eval.count {
            let end = min(eval.count, start + chunk)
            let out = policy.generate(prompts: Array(evalPrompts[start..<end]), greedy: true, rng: &r)
            let results = try await score(taskIDs: eval[start..<end].map(\.id), texts: out.map { policy.codec.decode($0.tokens) })
            correct += results.filter { $0.status == .ok && $0.reward == 1 }.count
            start = end
        }
        return Double(correct) / Double(eval.count)
    }

    /// Scores through the Environment with bounded concurrency, in input order.
    func score(taskIDs: [String], texts: [String]) async throws -> [RewardResult] {
        let items = zip(taskIDs, texts).map { ScoreItem(pack: config.pack, taskID: $0, response: $1) }
        return await scoreAll(env, items, limit: config.scoreConcurrency)
    }
}
