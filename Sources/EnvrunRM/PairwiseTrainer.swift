import EnvrunCore
import Foundation

/// Feature rows of a set of preference pairs: `chosen[i]` and `rejected[i]` are `[D]` rows, stored flat.
public struct PairFeatureSet: Sendable {
    public var count: Int
    public var dimension: Int
    public var chosen: [Float]
    public var rejected: [Float]
    /// Response lengths in characters, for the "longer response wins" baseline.
    public var chosenChars: [Int]
    public var rejectedChars: [Int]

    public init(
        count: Int, dimension: Int, chosen: [Float], rejected: [Float], chosenChars: [Int], rejectedChars: [Int]
    ) {
        self.count = count
        self.dimension = dimension
        self.chosen = chosen
        self.rejected = rejected
        self.chosenChars = chosenChars
        self.rejectedChars = rejectedChars
    }

    /// Encodes (through the cache) and builds the features of `pairs`. Prompts keep their end (the latest
    /// turns of a dialogue), responses their beginning.
    public static func build(
        _ pairs: [PreferencePair], encoder: MiniLMEncoder, cache: EmbeddingCache, features: PairFeatures,
        progress: ((Int, Int) -> Void)? = nil
    ) -> PairFeatureSet {
        let prompts = cache.embeddings(pairs.map(\.prompt), encoder: encoder, truncation: .left, progress: progress)
        let responses = cache.embeddings(
            pairs.map(\.chosen) + pairs.map(\.rejected), encoder: encoder, truncation: .right, progress: progress)
        let n = pairs.count
        var chosen: [Float] = [], rejected: [Float] = []
        chosen.reserveCapacity(n * features.dimension)
        rejected.reserveCapacity(n * features.dimension)
        for (i, p) in pairs.enumerated() {
            chosen += features.make(prompt: prompts[i], response: responses[i], promptText: p.prompt, responseText: p.chosen)
            rejected += features.make(
                prompt: prompts[i], response: responses[n + i], promptText: p.prompt, responseText: p.rejected)
        }
        return PairFeatureSet(
            count: n, dimension: features.dimension, chosen: chosen, rejected: rejected,
            chosenChars: pairs.map { $0.chosen.count }, rejectedChars: pairs.map { $0.rejected.count })
    }

    public func subset(_ indices: [Int]) -> PairFeatureSet {
        let d = dimension
        var c: [Float] = [], r: [Float] = []
        c.reserveCapacity(indices.count * d)
        r.reserveCapacity(indices.count * d)
        for i in indices {
            c.append(contentsOf: chosen[(i * d)..<((i + 1) * d)])
            r.append(contentsOf: rejected[(i * d)..<((i + 1) * d)])
        }
        return PairFeatureSet(
            count: indices.count, dimension: d, chosen: c, rejected: r, chosenChars: indices.map { chosenChars[$0] },
            rejectedChars: indices.map { rejectedChars[$0] })
    }
}

/// Training settings; every run with the same settings and data gives the same head.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var epochs = 30
    public var batchSize = 64
    public var learningRate: Float = 1e-3
    public var l2: Float = 1
    public var hidden = 0
    public var seed: UInt64 = 20_240_601
    /// Fraction of the training pairs kept aside (seeded) to pick the best epoch.
    public var devFraction = 0.1
    public init() {}

    enum CodingKeys: String, CodingKey {
        case epochs, seed, l2, hidden
        case batchSize = "batch_size"
        case learningRate = "learning_rate"
        case devFraction = "dev_fraction"
    }
}

public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    /// Nil when there is no dev slice.
    public var devLoss: Double?
    public var devAccuracy: Double?
    enum CodingKeys: String, CodingKey {
        case epoch
        case trainLoss = "train_loss"
        case devLoss = "dev_loss"
        case devAccuracy = "dev_accuracy"
    }
}

/// Pairwise ranking training: loss = −log σ(r(x, y_w) − r(x, y_l)), Adam, seeded mini-batches, best epoch by dev loss.
public enum PairwiseTrainer {
    public static func train(
        _ data: PairFeatureSet, config: TrainingConfig, progress: ((EpochRecord) -> Void)? = nil
    ) -> (head: RewardHead, history: [EpochRecord], bestEpoch: Int) {
        var rng = SplitMix64(seed: config.seed)
        var order = Array(0..<data.count)
        order.shuffle(using: &rng)
        let devCount = data.count > 10 ? Int((Double(data.count) * config.devFraction).rounded()) : 0
        let dev = data.subset(Array(order.prefix(devCount)).sorted())
        let train = data.subset(Array(order.dropFirst(devCount)).sorted())

        var head = RewardHead(inputDimension: data.dimension, hidden: config.hidden, seed: config.seed &+ 1)
        head.fitStandardisation(train.chosen + train.rejected, count: 2 * train.count)
        let zc = head.standardised(train.chosen, count: train.count)
        let zr = head.standardised(train.rejected, count: train.count)
        var adam = Adam(count: head.theta.count, learningRate: config.learningRate)
        var best = head
        var bestLoss = Double.infinity
        var bestEpoch = 0
        var history: [EpochRecord] = []
        let d = data.dimension
        var idx = Array(0..<train.count)
        for epoch in 1...max(1, config.epochs) {
            idx.shuffle(using: &rng)
            var total = 0.0
            var start = 0
            while start < idx.count {
                let batch = idx[start..<min(idx.count, start + config.batchSize)]
                var bc = [Float](), br = [Float]()
                bc.reserveCapacity(batch.count * d)
                br.reserveCapacity(batch.count * d)
                for i in batch {
                    bc.append(contentsOf: zc[(i * d)..<((i + 1) * d)])
                    br.append(contentsOf: zr[(i * d)..<((i + 1) * d)])
                }
                let (loss, grad) = head.lossAndGradient(chosen: bc, rejected: br, count: batch.count, l2: config.l2)
                adam.step(&head.theta, grad)
                total += loss * Double(batch.count)
                start += config.batchSize
            }
            let devEval = devCount > 0 ? Evaluation.head(head, on: dev) : nil
            let record = EpochRecord(
                epoch: epoch, trainLoss: total / Double(max(1, train.count)), devLoss: devEval?.loss,
                devAccuracy: devEval?.accuracy)
            history.append(record)
            progress?(record)
            let selection = devEval?.loss ?? record.trainLoss
            if selection < bestLoss {
                bestLoss = selection
                best = head
                bestEpoch = epoch
            }
        }
        return (best, history, bestEpoch)
    }
}

/// Held-out pairwise accuracy of the head and of the two baselines, computed on the same pairs.
public enum Evaluation {
    public struct Result: Codable, Sendable, Equatable {
        public var pairs: Int
        public var accuracy: Double
        public var loss: Double
    }

    /// A pair counts as correct when r(chosen) > r(rejected); ties count one half.
    public static func head(_ head: RewardHead, on set: PairFeatureSet) -> Result {
        let rc = head.rewards(set.chosen, count: set.count)
        let rr = head.rewards(set.rejected, count: set.count)
        var correct = 0.0, loss = 0.0
        for i in 0..<set.count {
            let delta = Double(rc[i] - rr[i])
            correct += delta > 0 ? 1 : (delta == 0 ? 0.5 : 0)
            loss += delta > 0 ? log1p(exp(-delta)) : -delta + log1p(exp(delta))
        }
        return Result(pairs: set.count, accuracy: correct / Double(max(1, set.count)), loss: loss / Double(max(1, set.count)))
    }

    /// "Longer response wins" (by characters; equal lengths count one half).
    public static func longerWins(_ set: PairFeatureSet) -> Double {
        var correct = 0.0
        for i in 0..<set.count {
            let c = set.chosenChars[i], r = set.rejectedChars[i]
            correct += c > r ? 1 : (c == r ? 0.5 : 0)
        }
        return correct / Double(max(1, set.count))
    }

    /// A seeded coin flip per pair.
    public static func random(_ set: PairFeatureSet, seed: UInt64) -> Double {
        var rng = SplitMix64(seed: seed)
        var correct = 0
        for _ in 0..<set.count where rng.next() & 1 == 1 { correct += 1 }
        return Double(correct) / Double(max(1, set.count))
    }
}
