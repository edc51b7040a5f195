import EnvrunCore
import Foundation

/// The whole `envrun rm train` pipeline as a library call: read pairs, split, encode through the cache,
/// train, evaluate against the baselines on the held-out pairs, write the head and `metrics.json`.
public struct TrainingRun: Sendable {
    public var pairFiles: [String]
    /// Every `holdoutEvery`-th pair of the FIRST file is held out for evaluation (0 or 1: none).
    public var holdoutEvery = 5
    public var outDir: String
    public var modelDir: String?
    public var cachePath: String? = ".cache/rm-embeddings/minilm.bin"
    public var maxLength = 256
    public var useLength = true
    public var training = TrainingConfig()
    public var commandLine = ""

    public init(pairFiles: [String], outDir: String) {
        self.pairFiles = pairFiles
        self.outDir = outDir
    }

    public struct Metrics: Codable, Sendable {
        public var trainPairs: Int
        public var heldOutPairs: Int
        public var heldOut: HeldOutMetrics?
        public var bestEpoch: Int
        public var history: [EpochRecord]
        public var encodeSeconds: Double
        public var trainSeconds: Double
        enum CodingKeys: String, CodingKey {
            case history
            case trainPairs = "train_pairs"
            case heldOutPairs = "held_out_pairs"
            case heldOut = "held_out"
            case bestEpoch = "best_epoch"
            case encodeSeconds = "encode_seconds"
            case trainSeconds = "train_seconds"
        }
    }

    public struct HeldOutMetrics: Codable, Sendable, Equatable {
        public var pairs: Int
        public var headAccuracy: Double
        public var headLoss: Double
        public var longerWinsAccuracy: Double
        public var randomAccuracy: Double
        public var randomSeed: UInt64
        enum CodingKeys: String, CodingKey {
            case pairs
            case headAccuracy = "head_accuracy"
            case headLoss = "head_loss"
            case longerWinsAccuracy = "longer_wins_accuracy"
            case randomAccuracy = "random_accuracy"
            case randomSeed = "random_seed"
        }

        public static func measure(head: RewardHead, on set: PairFeatureSet, seed: UInt64) -> HeldOutMetrics {
            let r = Evaluation.head(head, on: set)
            return HeldOutMetrics(
                pairs: set.count, headAccuracy: r.accuracy, headLoss: r.loss,
                longerWinsAccuracy: Evaluation.longerWins(set), randomAccuracy: Evaluation.random(set, seed: seed),
                randomSeed: seed)
        }
    }

    /// Runs the pipeline; `log` receives progress lines.
    public func run(log: @escaping @Sendable (String) -> Void) throws -> Metrics {
        guard let first = pairFiles.first else {
            throw EnvrunError(.invalidInput, "give at least one --pairs file", field: "pairs")
        }
        var train: [PreferencePair] = []
        var heldOut: [PreferencePair] = []
        var sources: [String] = []
        for file in pairFiles {
            let pairs = try PreferencePairs.load(file)
            if file == first {
                let split = PreferencePairs.holdOut(pairs, every: holdoutEvery)
                train += split.train
                heldOut = split.heldOut
                sources.append("\(file): \(pairs.count) pairs, \(split.train.count) train, \(split.heldOut.count) held out")
            } else {
                train += pairs
                sources.append("\(file): \(pairs.count) pairs, all train")
            }
            log("read \(sources.last!)")
        }
        guard train.count >= 2 else { throw EnvrunError(.invalidInput, "fewer than 2 training pairs", field: "pairs") }

        let encoder = try MiniLMEncoder.load(EncoderFiles.resolve(modelDir), maxLength: maxLength)
        let cache = EmbeddingCache(dimension: encoder.dimension, capacity: .max)  // a training set is finite
        if let cachePath {
            let n = cache.load(from: cachePath)
            if n > 0 { log("embedding cache: \(n) entries from \(cachePath)") }
        }
        let features = PairFeatures(embeddingDimension: encoder.dimension, useLength: useLength)
        let t0 = Date()
        let progress = ProgressLine(log: log, label: "encoding")
        let trainSet = PairFeatureSet.build(train, encoder: encoder, cache: cache, features: features, progress: progress.update)
        let heldSet = PairFeatureSet.build(heldOut, encoder: encoder, cache: cache, features: features, progress: progress.update)
        let encodeSeconds = Date().timeIntervalSince(t0)
        if let cachePath { try cache.save(to: cachePath) }
        log(String(format: "encoded in %.1f s (cache now %d texts)", encodeSeconds, cache.count))

        let t1 = Date()
        let result = PairwiseTrainer.train(trainSet, config: training) { r in
            let dev = r.devLoss.map { String(format: "  dev loss %.4f  dev acc %.3f", $0, r.devAccuracy ?? 0) } ?? ""
            log(String(format: "epoch %3d  train loss %.4f", r.epoch, r.trainLoss) + dev)
        }
        let trainSeconds = Date().timeIntervalSince(t1)
        let held = heldOut.isEmpty ? nil : HeldOutMetrics.measure(head: result.head, on: heldSet, seed: training.seed)
        if let held {
            log(String(format: "held-out (%d pairs): head %.3f  longer-wins %.3f  random %.3f",
                       held.pairs, held.headAccuracy, held.longerWinsAccuracy, held.randomAccuracy))
        }
        let metrics = Metrics(
            trainPairs: train.count, heldOutPairs: heldOut.count, heldOut: held, bestEpoch: result.bestEpoch,
            history: result.history, encodeSeconds: encodeSeconds, trainSeconds: trainSeconds)
        let manifest = HeadManifest(
            maxLength: maxLength, features: features, hidden: training.hidden, training: training,
            notes: [
                "command": commandLine,
                "data": sources.joined(separator: "; "),
                "split": holdoutEvery > 1
                    ? "held out: every \(holdoutEvery)th pair (index % \(holdoutEvery) == \(holdoutEvery - 1)) of \(first); "
                        + "dev (best-epoch choice): \(Int(training.devFraction * 100))% of the rest, shuffled with the seed"
                    : "no held-out split",
                "best_epoch": "\(result.bestEpoch)",
                "trained_at": ISO8601DateFormatter().string(from: Date()),
            ])
        try HeadStore.save(result.head, manifest: manifest, to: outDir)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try enc.encode(metrics).write(to: URL(fileURLWithPath: outDir + "/metrics.json"), options: .atomic) } catch {
            throw EnvrunError(.io, "cannot write metrics.json: \(error.localizedDescription)", field: outDir)
        }
        log("wrote \(outDir)/head.json, head.safetensors, metrics.json")
        return metrics
    }
}

/// Throttled "label n/total (rate/s)" progress lines.
final class ProgressLine: @unchecked Sendable {
    let log: @Sendable (String) -> Void
    let label: String
    let start = Date()
    var last = Date.distantPast
    init(log: @escaping @Sendable (String) -> Void, label: String) {
        self.log = log
        self.label = label
    }
    func update(_ done: Int, _ total: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(last) > 2 else { return }
        last = now
        let rate = Double(done) / max(1e-9, now.timeIntervalSince(start))
        log(String(format: "%@ %d/%d texts (%.1f/s)", label, done, total, rate))
    }
}
