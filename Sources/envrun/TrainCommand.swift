import ArgumentParser
import EnvrunCore
import EnvrunJudge
import EnvrunRL
import EnvrunRewards
import EnvrunTasks
import Foundation

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "GRPO on rewards from the Environment: train the tiny policy in process, or write batches from an OpenAI-compatible server.",
        discussion: """
            The tiny policy is a small transformer trained in this process on OpenBLAS. A run is a \
            supervised warm-up that stops at the first held-out evaluation at or above --warmup-until, then \
            GRPO steps: --prompts-per-step prompts, --group-size samples each, rewards from the pack's \
            verifier through the Environment, advantages by --supervision and --convention, the clipped \
            loss. Held-out exact match (greedy, judged by the Environment) is measured every --eval-every \
            steps on the pack's last --eval-tasks tasks.

            RUN_DIR gets config.json, metrics.jsonl (verl-like names), checkpoint/ and summary.json; \
            --resume continues from the checkpoint with the saved config and ends bit-identical to an \
            uninterrupted run. Plot with `envrun plot RUN_DIR`.

            The README's addition curve:
              envrun train runs/outcome --pack addition --steps 400 --max-minutes 15
              envrun train runs/process --pack addition --steps 400 --max-minutes 15 --supervision process
              envrun train runs/control --pack addition --steps 400 --max-minutes 15 --lr 0

            --policy openai samples from a completions server (token log-probs), scores through the \
            Environment and writes RUN_DIR/batches/step-NNNNNN.jsonl for an external trainer:
              envrun train runs/hybrid --policy openai --pack gsm8k --pack hh-helpful --steps 10
            """)

    @Argument(help: "The run directory (created).") var runDir: String
    @OptionGroup var packsOption: PackCommand.PacksOption
    @Option(help: "tiny (trained in process) or openai (rollouts from a completions server, written as training batches).")
    var policy = PolicyKind.tiny
    @Option(help: "The pack to train on; with --policy openai, repeat it to mix packs (e.g. a rule-scored and an RM-scored one).")
    var pack: [String] = []
    @Option(help: "--policy openai: the server's /v1 base URL (key: ENVRUN_POLICY_API_KEY).") var policyUrl = "http://127.0.0.1:8031/v1"
    @Option(help: "--policy openai: the served model name.") var model = "smollm2"
    @Option(help: "--policy openai: tokens per response.") var maxTokens = 128
    @Option(help: "A judge (OpenAI-compatible /v1 base URL) for generative_rm and hybrid packs, as the judge named default.")
    var judgeUrl: String?
    @Option(help: "The judge's model name.") var judgeModel = "smollm2"
    @Option(help: "--policy openai: sampling temperature.") var temperature = 1.0
    @Option(help: "Seed of weights, data order and sampling.") var seed: UInt64 = 1
    @Flag(help: "Continue the run in RUN_DIR from its checkpoint (its saved config wins over the flags).") var resume = false
    @Flag(help: "Start afresh in a RUN_DIR that already holds a run (its metrics and checkpoint are replaced).") var overwrite = false

    @Option(help: "GRPO steps.") var steps = 300
    @Option(help: "Prompts per GRPO step.") var promptsPerStep = 32
    @Option(help: "Samples per prompt (the group).") var groupSize = 8
    @Option(name: .customLong("lr"), help: "GRPO learning rate (0: a control run that must stay flat).") var learningRate = 3e-4
    @Option(help: "outcome (one reward per response) or process (the pack's step rewards).") var supervision = Supervision.outcome
    @Option(help: "verl (ε 1e-6, a group of one keeps its reward) or trl (ε 1e-4).") var convention = AdvantageConvention.Style.verl
    @Option(help: "Advantage scaling: group, batch or none (none: Dr. GRPO).") var scaling = AdvantageConvention.Scaling.group
    @Option(help: "Lower clip ε.") var clipLow = 0.2
    @Option(help: "Upper clip ε (DAPO's clip-higher: 0.28).") var clipHigh = 0.2
    @Option(help: "Dual clip c for negative advantages (e.g. 3); off by default.") var dualClip: Double?
    @Option(help: "β of the KL to the reference (the weights when GRPO starts).") var klBeta = 0.0
    @Option(help: "KL estimator: k1 or k3.") var klEstimator = KLEstimator.k3
    @Option(name: .customLong("kl-in"), help: "Where the KL goes: loss or reward.") var klPlacement = KLPlacement.loss
    @Option(help: "token-mean, seq-mean-token-mean or seq-mean-token-sum-norm.") var lossAgg = LossAggregation.tokenMean
    @Option(help: "Optimizer steps per GRPO step (the samples split into this many mini-batches).") var miniBatches = 2
    @Option(help: "Passes over each step's samples.") var epochs = 1
    @Flag(help: "Drop groups whose rewards are all equal (DAPO's dynamic sampling).") var dropZeroVariance = false
    @Option(help: "γ of per-token shaping: the advantage of token t is A·γ^(L−1−t) (1: the same everywhere).") var discount = 1.0

    @Option(help: "Stop the supervised warm-up at the first evaluation at or above this exact match.") var warmupUntil = 0.4
    @Option(help: "At most this many warm-up steps.") var warmupMaxSteps = 3000
    @Option(help: "Warm-up learning rate.") var warmupLr = 1e-3
    @Option(help: "Held-out tasks (the pack's last ones).") var evalTasks = 1000
    @Option(help: "Evaluate every this many GRPO steps.") var evalEvery = 10
    @Option(help: "Stop when the wall time passes this many minutes (0: no limit).") var maxMinutes = 0.0
    @Option(help: "Stop once held-out exact match reaches this (0: run all steps).") var stopAt = 0.0
    @Option(help: "Checkpoint every this many GRPO steps.") var checkpointEvery = 25
    @Option(help: "Model width.") var dModel = 64
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "Transformer blocks.") var layers = 2
    @Option(help: "OpenBLAS threads.") var threads = 1

    func validate() throws {
        guard steps >= 0, promptsPerStep > 0, groupSize > 0 else { throw ValidationError("--steps ≥ 0, --prompts-per-step and --group-size > 0") }
        guard learningRate >= 0, warmupLr >= 0 else { throw ValidationError("learning rates must be ≥ 0") }
        guard clipLow >= 0, clipLow < 1, clipHigh >= 0 else { throw ValidationError("--clip-low in [0, 1), --clip-high ≥ 0") }
        if let c = dualClip, c <= 1 { throw ValidationError("--dual-clip must be > 1") }
        guard discount > 0, discount <= 1 else { throw ValidationError("--discount must be in (0, 1]") }
        guard dModel % heads == 0 else { throw ValidationError("--d-model must be a multiple of --heads") }
    }

    func config() -> TrainConfig {
        var c = TrainConfig()
        c.pack = pack.first ?? "addition"
        c.seed = seed
        c.steps = steps
        c.promptsPerStep = promptsPerStep
        c.groupSize = groupSize
        c.learningRate = learningRate
        c.supervision = supervision
        c.convention = AdvantageConvention(style: convention, scaling: scaling)
        c.loss.clipLow = clipLow
        c.loss.clipHigh = clipHigh
        c.loss.dualClip = dualClip
        c.loss.klBeta = klBeta
        c.loss.klEstimator = klEstimator
        c.loss.klPlacement = klPlacement
        c.loss.aggregation = lossAgg
        c.miniBatches = miniBatches
        c.epochs = epochs
        c.dropZeroVarianceGroups = dropZeroVariance
        c.discount = discount
        c.warmupUntil = warmupUntil
        c.warmupMaxSteps = warmupMaxSteps
        c.warmupLearningRate = warmupLr
        c.evalTasks = evalTasks
        c.evalEvery = evalEvery
        c.maxMinutes = maxMinutes
        c.stopAt = stopAt
        c.checkpointEvery = checkpointEvery
        c.dModel = dModel
        c.heads = heads
        c.layers = layers
        c.blasThreads = threads
        return c
    }

    func collect() async throws {
        var c = CollectConfig()
        c.packs = pack.isEmpty ? ["gsm8k"] : pack
        c.seed = seed
        c.steps = steps
        c.promptsPerStep = promptsPerStep
        c.groupSize = groupSize
        c.convention = AdvantageConvention(style: convention, scaling: scaling)
        c.discount = discount
        guard let url = URL(string: policyUrl), let host = url.host, ["127.0.0.1", "localhost", "::1"].contains(host) || ProcessInfo.processInfo.environment["ENVRUN_POLICY_ALLOW_REMOTE"] == "1" else {
            throw ValidationError("--policy-url must be a loopback URL (set ENVRUN_POLICY_ALLOW_REMOTE=1 for another host)")
        }
        let policy = OpenAICompletionsPolicy(baseURL: url, model: model, maxTokens: maxTokens, temperature: temperature, seed: seed)
        let packs = try packsOption.load(c.packs)
        let env = PackEnvironment(packs: packs, dependencies: try dependencies())
        let dir = RunDirectory(URL(fileURLWithPath: runDir))
        let collector = try BatchCollector(config: c, environment: env, policy: policy, run: dir)
        let bar = TrainBar()
        collector.progress = { bar.draw($0) }
        try await collector.run()
        bar.finish()
        print("wrote \(steps) batches of \(promptsPerStep * groupSize) samples to \(dir.url.path)/batches/ and metrics.jsonl")
    }

    /// The live reward dependencies, with the judge when --judge-url names one (without it, judge-scored
    /// samples get status error and are masked).
    func dependencies() throws -> RewardDependencies {
        var d = RewardDependencies.live()
        if let judgeUrl {
            guard let url = URL(string: judgeUrl), url.host != nil else { throw ValidationError("--judge-url is not a URL: \(judgeUrl)") }
            d.judges = JudgePool(clients: ["default": OpenAIChatClient(endpoint: JudgeEndpoint(baseURL: url, model: judgeModel))])
        }
        return d
    }

    func run() async throws {
        let dir = RunDirectory(URL(fileURLWithPath: runDir))
        let existing = FileManager.default.fileExists(atPath: dir.configURL.path) || FileManager.default.fileExists(atPath: dir.metricsURL.path)
        if existing, !resume, !overwrite {
            throw EnvrunError(.invalidInput, "\(runDir) already holds a run: pass --resume to continue it or --overwrite to start afresh", field: "run_dir")
        }
        if policy == .openai { return try await collect() }
        let resuming = resume && FileManager.default.fileExists(atPath: dir.configURL.path)
        let cfg = resuming ? try dir.readConfig() : config()
        let packs = try packsOption.load([cfg.pack])
        let env = PackEnvironment(packs: packs, dependencies: RewardDependencies.live())
        let driver = try GRPODriver(config: cfg, environment: env, run: dir)
        let bar = TrainBar()
        driver.progress = { bar.draw($0) }
        let s = try await driver.run(resume: resuming)
        bar.finish()
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
        print("warm-up: \(s.warmupSteps) steps to \(pct(s.warmupAccuracy)) held-out; GRPO: \(s.steps) steps; held-out exact match \(pct(s.finalAccuracy)) (best \(pct(s.bestAccuracy))); \(String(format: "%.0f", s.wallSeconds)) s; stopped: \(s.stoppedBecause)")
        print("wrote \(dir.url.path)/{config.json,metrics.jsonl,checkpoint/,summary.json}")
    }
}

/// The training progress line: redrawn in place on a terminal, one line every 10 steps otherwise.
final class TrainBar: @unchecked Sendable {
    let tty = isatty(2) == 1
    let lock = NSLock()
    var drawn = false

    func draw(_ p: TrainProgress) {
        lock.lock()
        defer { lock.unlock() }
        let width = 20
        let filled = p.totalSteps > 0 ? min(width, p.step * width / p.totalSteps) : 0
        var line = "\(p.phase) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(p.step)/\(p.totalSteps)"
        if p.phase == "warmup" {
            line += String(format: " loss %.3f", p.loss)
        } else {
            for (s, r) in p.rewardBySource.sorted(by: { $0.key < $1.key }) { line += String(format: " reward[%@] %.3f", s, r) }
            line += String(format: " kl %.4f clip %.3f %.0f tok/s", p.kl, p.clipFraction, p.tokensPerSecond)
        }
        if let a = p.accuracy { line += String(format: " held-out %.1f%%", a * 100) }
        if tty {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drawn = true
        } else if p.step % 10 == 0 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if tty && drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

enum PolicyKind: String, ExpressibleByArgument, CaseIterable { case tiny, openai }

extension Supervision: ExpressibleByArgument {}
extension AdvantageConvention.Style: ExpressibleByArgument {}
extension AdvantageConvention.Scaling: ExpressibleByArgument {}
extension KLEstimator: ExpressibleByArgument {}
extension KLPlacement: ExpressibleByArgument {}
extension LossAggregation: ExpressibleByArgument {}
