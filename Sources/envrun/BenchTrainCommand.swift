import ArgumentParser
import EnvrunCore
import EnvrunRL
import EnvrunRewards
import EnvrunTasks
import Foundation

struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "GRPO throughput of the tiny policy: rollouts/s and the share of wall time in generation, reward and update.",
        discussion: """
            Runs --steps GRPO steps on the addition pack (after a --warmup-steps supervised warm-up, which is \
            not measured) in a temporary run directory and prints per-step medians and the shares of the \
            measured wall time, side by side, from one run.

              envrun bench train --steps 40
            """)

    @OptionGroup var packsOption: PackCommand.PacksOption
    @Option(help: "The pack.") var pack = "addition"
    @Option(help: "Measured GRPO steps.") var steps = 40
    @Option(help: "Warm-up steps before measuring.") var warmupSteps = 50
    @Option(help: "Prompts per step.") var promptsPerStep = 32
    @Option(help: "Samples per prompt.") var groupSize = 8
    @Option(help: "OpenBLAS threads.") var threads = 1

    func run() async throws {
        var c = TrainConfig()
        c.pack = pack
        c.steps = steps
        c.warmupMaxSteps = warmupSteps
        c.warmupUntil = 2
        c.warmupEvalEvery = max(1, warmupSteps)
        c.evalEvery = steps + 1  // no evaluation inside the measured steps
        c.checkpointEvery = steps + 1
        c.promptsPerStep = promptsPerStep
        c.groupSize = groupSize
        c.blasThreads = threads
        let env = PackEnvironment(packs: try packsOption.load([pack]), dependencies: RewardDependencies.live())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-bench-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = RunDirectory(dir)
        let driver = try GRPODriver(config: c, environment: env, run: run)
        let bar = TrainBar()
        driver.progress = { bar.draw($0) }
        _ = try await driver.run(resume: false)
        bar.finish()
        let m = try run.readMetrics().filter { $0["train/phase"] == 1 }
        func median(_ k: String) -> Double {
            let v = m.compactMap { $0[k] }.sorted()
            return v.isEmpty ? 0 : v[v.count / 2]
        }
        func total(_ k: String) -> Double { m.compactMap { $0[k] }.reduce(0, +) }
        let gen = total("timing_s/gen"), reward = total("timing_s/reward"), update = total("timing_s/update")
        let all = max(1e-9, gen + reward + update)
        print("envrun bench train: \(m.count) GRPO steps of \(promptsPerStep)×\(groupSize) rollouts, \(driver.parameters.count) parameters, \(threads) BLAS thread(s)")
        print(String(format: "  rollouts/s (median step)   %8.1f", median("perf/rollouts_per_s")))
        print(String(format: "  tokens/s (median step)     %8.0f", median("perf/tokens_per_s")))
        print(String(format: "  step time median           %8.3f s", median("timing_s/gen") + median("timing_s/reward") + median("timing_s/update")))
        print("  share of wall time          median s/step   share")
        print(String(format: "    generation               %8.3f      %5.1f%%", median("timing_s/gen"), 100 * gen / all))
        print(String(format: "    reward (Environment)     %8.3f      %5.1f%%", median("timing_s/reward"), 100 * reward / all))
        print(String(format: "    update (fwd+bwd+Adam)    %8.3f      %5.1f%%", median("timing_s/update"), 100 * update / all))
    }
}
