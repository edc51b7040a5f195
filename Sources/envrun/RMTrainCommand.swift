import ArgumentParser
import EnvrunCore
import EnvrunRM
import Foundation

extension RMCommand {
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a reward head on preference pairs with the pairwise loss −log σ(r_w − r_l) and Adam.",
            discussion: """
                Pairs are JSONL (or .jsonl.gz): {"prompt","chosen","rejected"}, or HH-RLHF's {"chosen","rejected"}
                dialogues, split on the last "\\n\\nAssistant:". Every --holdout-every'th pair of the first file is held
                out; the head's held-out accuracy is printed next to random and "longer response wins".
                Writes OUT/head.json, OUT/head.safetensors and OUT/metrics.json. Deterministic for a given --seed.
                """)

        @OptionGroup var common: Common
        @Option(help: "Preference pairs (repeatable); the first file also provides the held-out split.")
        var pairs: [String] = []
        @Option(help: "Output folder for the head.") var out: String
        @Option(help: "Hold out every K-th pair of the first file (0: none).") var holdoutEvery = 5
        @Option(help: "Epochs.") var epochs = 30
        @Option(help: "Pairs per mini-batch.") var batchSize = 64
        @Option(help: "Adam learning rate.") var lr: Float = 1e-3
        @Option(help: "L2 weight decay.") var l2: Float = 1
        @Option(help: "Hidden units of the head (0: linear).") var hidden = 0
        @Option(help: "Seed for initialisation, shuffles, dev split and the random baseline.") var seed: UInt64 = 20_240_601
        @Option(help: "Fraction of the training pairs used to pick the best epoch.") var devFraction = 0.1
        @Option(help: "Longest encoder input in tokens.") var maxLength = 256
        @Flag(help: "Leave out the log-length features.") var noLengthFeatures = false
        @Option(help: "Embedding cache file ('' for none).") var cache = ".cache/rm-embeddings/minilm.bin"

        func validate() throws {
            if pairs.isEmpty { throw ValidationError("give at least one --pairs FILE") }
            if epochs < 1 || batchSize < 1 { throw ValidationError("--epochs and --batch-size must be positive") }
        }

        func run() async throws {
            common.apply()
            var runSpec = TrainingRun(pairFiles: pairs, outDir: out)
            runSpec.holdoutEvery = holdoutEvery
            runSpec.modelDir = common.modelDir
            runSpec.cachePath = cache.isEmpty ? nil : cache
            runSpec.maxLength = maxLength
            runSpec.useLength = !noLengthFeatures
            runSpec.training.epochs = epochs
            runSpec.training.batchSize = batchSize
            runSpec.training.learningRate = lr
            runSpec.training.l2 = l2
            runSpec.training.hidden = hidden
            runSpec.training.seed = seed
            runSpec.training.devFraction = devFraction
            runSpec.commandLine = (["envrun"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            _ = try runSpec.run(log: RMCommand.log)
        }
    }
}
