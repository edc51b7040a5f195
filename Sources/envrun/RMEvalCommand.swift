import ArgumentParser
import EnvrunCore
import EnvrunRM
import Foundation

extension RMCommand {
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
}
