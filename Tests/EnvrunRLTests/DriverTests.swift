import EnvrunCore
import EnvrunRewards
import EnvrunTasks
import Foundation
import Testing
@testable import EnvrunRL

/// Small runs of the real driver over a generated addition pack scored by the real math verifier.
@Suite("GRPO driver: resume, control and masking")
struct DriverTests {
    static func environment(steps: Bool = true, extra: [TaskSpec] = []) throws -> PackEnvironment {
        var p = ArithParameters()
        p.seed = 3
        p.count = 120
        p.digits = 2
        p.depth = 1
        p.operations = [.add]
        var spec = RewardSpec(verifier: .math)
        if steps { spec.mathSteps = .digits }
        let manifest = PackManifest(
            name: "add2", version: "1", description: "test", license: "MIT", source: "test", tasksFile: "tasks.jsonl",
            promptTemplate: "What is {{prompt}}?", reward: spec)
        let tasks = try ArithGenerator(parameters: p).generate() + extra
        return PackEnvironment(packs: [TaskPack(manifest: manifest, tasks: tasks, directory: URL(fileURLWithPath: "/nonexistent"))])
    }

    static func config() -> TrainConfig {
        var c = TrainConfig()
        c.pack = "add2"
        c.seed = 4
        c.evalTasks = 20
        c.evalEvery = 3
        c.dModel = 16
        c.heads = 2
        c.layers = 1
        c.warmupUntil = 2  // never reached: the warm-up runs its max steps
        c.warmupMaxSteps = 6
        c.warmupBatch = 16
        c.warmupEvalEvery = 3
        c.steps = 8
        c.promptsPerStep = 4
        c.groupSize = 4
        c.learningRate = 3e-3
        c.checkpointEvery = 2
        return c
    }

    static func tmp(_ name: String) -> RunDirectory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-rl-\(name)-\(UUID().uuidString)")
        return RunDirectory(url)
    }

    static let volatile: Set<String> = ["train/wall_s", "perf/tokens_per_s", "perf/rollouts_per_s"]

    static func stable(_ m: [[String: Double]]) -> [[String: Double]] {
        m.map { $0.filter { !volatile.contains($0.key) && !$0.key.hasPrefix("timing_s/") } }
    }

    @Test(.timeLimit(.minutes(2)), arguments: [Supervision.outcome, .process])
    func resumedRunEndsBitIdenticalToAnUninterruptedOne(supervision: Supervision) async throws {
        var c = Self.config()
        c.supervision = supervision
        let env = try Self.environment()
        let whole = Self.tmp("whole")
        let a = try GRPODriver(config: c, environment: env, run: whole)
        _ = try await a.run(resume: false)

        let parts = Self.tmp("parts")
        let b1 = try GRPODriver(config: c, environment: env, run: parts)
        b1.interruptAfter = 3  // stops after step 3; the last checkpoint is step 2, so step 3 is redone
        let first = try await b1.run(resume: false)
        #expect(first.stoppedBecause == "interrupted")
        let b2 = try GRPODriver(config: try parts.readConfig(), environment: env, run: parts)
        let second = try await b2.run(resume: true)
        #expect(second.steps == c.steps)

        // Compared as booleans: a failure should not print 10^4 numbers.
        let sameWeights = a.parameters == b2.parameters
        #expect(sameWeights, "weights differ after resume")
        let ma = try whole.readMetrics(), mb = try parts.readMetrics()
        let sa = Self.stable(ma), sb = Self.stable(mb)
        let firstDiff = sa.indices.first { $0 >= sb.count || sa[$0] != sb[$0] }
        #expect(firstDiff == nil, "metrics line \(firstDiff ?? -1) differs after resume")
        #expect(ma.count == mb.count && ma.count > c.steps)
        // The run must have moved the weights, or the equality says nothing.
        let fresh = TinyTransformer(config: b2.policy.model.config, seed: c.seed)
        #expect(fresh.parameters != b2.parameters)
    }

    @Test(.timeLimit(.minutes(2)))
    func controlWithLearningRateZeroKeepsTheWeights() async throws {
        var c = Self.config()
        c.learningRate = 0
        let run = Self.tmp("control")
        let d = try GRPODriver(config: c, environment: try Self.environment(), run: run)
        d.interruptAfter = nil
        var atStart: [Double] = []
        d.progress = nil
        c.steps = 0
        // Weights after warm-up only (steps 0) vs after 8 GRPO steps at lr 0.
        let warm = try GRPODriver(config: c, environment: try Self.environment(), run: Self.tmp("warm"))
        _ = try await warm.run(resume: false)
        atStart = warm.parameters
        _ = try await d.run(resume: false)
        #expect(d.parameters == atStart)
        let evals = try run.readMetrics().filter { $0["train/phase"] == 1 }.compactMap { $0["eval/exact_match"] }
        #expect(!evals.isEmpty && Set(evals).count == 1, "held-out exact match must stay flat: \(evals)")
    }

    @Test(.timeLimit(.minutes(2)))
    func checkFailuresAreMaskedNotScoredZero() async throws {
        // A training task whose gold does not parse: its samples' status is error and they leave the batch.
        let bad = TaskSpec(id: "bad", prompt: "1 + 1", answer: "\\frac{")
        var c = Self.config()
        c.warmupMaxSteps = 0
        c.steps = 3
        c.promptsPerStep = 121  // every training task each step, the bad one included
        c.evalTasks = 2
        let env = try Self.environment(extra: [bad, TaskSpec(id: "e1", prompt: "1 + 2", answer: "3"), TaskSpec(id: "e2", prompt: "2 + 2", answer: "4")])
        let run = Self.tmp("mask")
        let d = try GRPODriver(config: c, environment: env, run: run)
        _ = try await d.run(resume: false)
        let steps = try run.readMetrics().filter { $0["train/phase"] == 1 }
        #expect(steps.count == 3)
        // Each step samples the bad task groupSize times; a sample with no digits at all is the model's
        // fault (no answer, 0) before the gold is read, every other one is a check failure.
        #expect(steps.allSatisfy { ($0["reward/errors"] ?? 0) >= 1 }, "\(steps.map { $0["reward/errors"] ?? -1 })")
        #expect(steps.reduce(0) { $0 + ($1["reward/errors"] ?? 0) } >= Double(c.groupSize * 3 / 2))
        // Masked: the loss saw every sample but the failed ones.
        #expect(steps.allSatisfy { $0["actor/samples"]! + $0["reward/errors"]! == Double(c.promptsPerStep * c.groupSize) })
    }

    @Test func tokenStepsReverseTheDigitsAndGiveTheEndTokenToTheLastStep() {
        // Text "0579" was written 9,7,5,0 then the end token; steps come in text order.
        let s = GRPODriver.tokenSteps([1, 0, 1, 1], response: [9, 7, 5, 0, DigitCodec.end])
        #expect(s?.rewards == [1, 1, 0, 1])
        #expect(s?.ends == [0, 1, 2, 4])
        #expect(GRPODriver.tokenSteps([1, 1], response: [9, 7, 5, DigitCodec.end]) == nil)
    }

    @Test func digitStepRuleAlignsPlaces() {
        #expect(MathReward.digitSteps(gold: "579", response: "0579") == [1, 1, 1, 1])
        #expect(MathReward.digitSteps(gold: "579", response: "The answer is 1589") == [0, 1, 0, 1])
        #expect(MathReward.digitSteps(gold: "1/2", response: "12") == nil)
        #expect(MathReward.digitSteps(gold: "5", response: "no digits") == nil)
    }

    @Test func codecRoundTrip() throws {
        let c = DigitCodec(width: 3)
        #expect(try c.encodePrompt("What is 123 + 45? Give") == [3, 2, 1, 10, 5, 4, 0, 11])
        #expect(try c.encodeAnswer("168") == [8, 6, 1, 0, 12])
        #expect(c.decode([8, 6, 1, 0, 12, 3]) == "0168")
        #expect(throws: EnvrunError.self) { try c.encodePrompt("1234 + 5") }
    }
}

@Suite("the shipped addition pack")
struct AdditionPackTests {
    @Test func itsMathRewardGivesDigitSteps() async throws {
        guard let dir = PackLibrary.defaultDirectory() else {
            print("skipped: no Tasks/ folder")
            return
        }
        let env = PackEnvironment(packs: [try TaskPack.load(directory: dir.appendingPathComponent("addition"))])
        let r = try await env.score(ScoreItem(pack: "addition", taskID: "0000", response: "0769"))  // gold 759
        #expect(r.status == .ok && r.reward == 0)
        #expect(r.stepRewards == [1, 1, 0, 1])
    }
}
