import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

@Suite struct TrainerTests {
    static func randomRows(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<(n * d)).map { _ in Float(rng.normal()) }
    }

    /// The analytic gradient of the pairwise loss (+ L2) against central finite differences, for every
    /// parameter of a small MLP head and of a linear head.
    @Test(arguments: [3, 0])
    func gradientMatchesFiniteDifferences(hidden: Int) {
        let d = 6, n = 5
        var head = RewardHead(inputDimension: d, hidden: hidden, seed: 7)
        var rng = SplitMix64(seed: 99)
        for i in head.theta.indices { head.theta[i] += Float(rng.normal() * 0.3) }  // non-zero biases too
        let c = Self.randomRows(n, d, seed: 1), r = Self.randomRows(n, d, seed: 2)
        let l2: Float = 0.05
        let (_, grad) = head.lossAndGradient(chosen: c, rejected: r, count: n, l2: l2)
        let eps: Float = 1e-2
        var worst = 0.0
        for i in head.theta.indices {
            var plus = head, minus = head
            plus.theta[i] += eps
            minus.theta[i] -= eps
            let lp = plus.lossAndGradient(chosen: c, rejected: r, count: n, l2: l2).loss
            let lm = minus.lossAndGradient(chosen: c, rejected: r, count: n, l2: l2).loss
            let numeric = (lp - lm) / Double(2 * eps)
            let err = abs(numeric - Double(grad[i])) / max(1e-3, abs(numeric) + abs(Double(grad[i])))
            worst = max(worst, err)
            #expect(err < 2e-2, "theta[\(i)]: analytic \(grad[i]) numeric \(numeric)")
        }
        print("gradient check (hidden \(hidden)): worst relative error \(worst) over \(head.theta.count) parameters")
    }

    /// Pairs whose preference is a fixed linear function of the features: training learns it, and two runs with
    /// the same seed give bit-identical heads.
    static func syntheticSet(n: Int, d: Int, seed: UInt64) -> PairFeatureSet {
        let c0 = randomRows(n, d, seed: seed), r0 = randomRows(n, d, seed: seed + 1)
        var c = c0, r = r0
        let w = (0..<d).map { Float($0 % 3) - 1 }
        for i in 0..<n {
            var sc: Float = 0, sr: Float = 0
            for j in 0..<d {
                sc += w[j] * c0[i * d + j]
                sr += w[j] * r0[i * d + j]
            }
            if sc < sr {  // swap so that "chosen" has the higher true score
                for j in 0..<d {
                    c[i * d + j] = r0[i * d + j]
                    r[i * d + j] = c0[i * d + j]
                }
            }
        }
        return PairFeatureSet(
            count: n, dimension: d, chosen: c, rejected: r, chosenChars: Array(repeating: 1, count: n),
            rejectedChars: Array(repeating: 1, count: n))
    }

    @Test func trainingLearnsAndIsDeterministic() {
        let train = Self.syntheticSet(n: 400, d: 8, seed: 10)
        let test = Self.syntheticSet(n: 200, d: 8, seed: 500)
        var config = TrainingConfig()
        config.epochs = 15
        config.hidden = 8
        config.learningRate = 1e-2
        config.batchSize = 32
        config.l2 = 1e-3
        let a = PairwiseTrainer.train(train, config: config)
        let b = PairwiseTrainer.train(train, config: config)
        #expect(a.head == b.head)
        #expect(a.history == b.history)
        let untrained = RewardHead(inputDimension: 8, hidden: 8, seed: 3)
        let before = Evaluation.head(untrained, on: test)
        let after = Evaluation.head(a.head, on: test)
        #expect(after.accuracy > 0.9, "held-out accuracy \(after.accuracy)")
        #expect(after.loss < before.loss)
        #expect(a.history.first!.trainLoss > a.history.last!.trainLoss)
        config.seed = 1234
        let c = PairwiseTrainer.train(train, config: config)
        #expect(c.head != a.head)
    }

    @Test func baselines() {
        let set = PairFeatureSet(
            count: 4, dimension: 1, chosen: [0, 0, 0, 0], rejected: [0, 0, 0, 0], chosenChars: [10, 5, 7, 1],
            rejectedChars: [3, 9, 7, 0])
        #expect(Evaluation.longerWins(set) == 2.5 / 4)
        let r = Evaluation.random(Self.syntheticSet(n: 2000, d: 1, seed: 1), seed: 5)
        #expect(abs(r - 0.5) < 0.05)
    }

    @Test func headRoundTripsThroughDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-head-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var head = RewardHead(inputDimension: 3 * 4 + 2, hidden: 5, seed: 11)
        head.mean = (0..<14).map { Float($0) / 7 }
        let manifest = HeadManifest(
            maxLength: 128, features: PairFeatures(embeddingDimension: 4), hidden: 5, training: TrainingConfig(),
            notes: ["command": "test"])
        try HeadStore.save(head, manifest: manifest, to: dir)
        let (loaded, m2) = try HeadStore.load(from: dir)
        #expect(loaded == head)
        #expect(m2 == manifest)
        #expect(throws: EnvrunError.self) { try HeadStore.load(from: dir + "/nope") }
    }

    @Test func embeddingCacheRoundTrips() throws {
        let cache = EmbeddingCache(dimension: 3)
        let k1 = EmbeddingCache.key("hello", namespace: "a")
        #expect(k1 != EmbeddingCache.key("hello", namespace: "b"))
        #expect(k1 != EmbeddingCache.key("hellp", namespace: "a"))
        cache.put(k1, [1, 2, 3])
        cache.put(42, [4, 5, 6])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-cache-\(getpid()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try cache.save(to: path)
        let other = EmbeddingCache(dimension: 3)
        #expect(other.load(from: path) == 2)
        #expect(other.get(k1) == [1, 2, 3])
        #expect(other.get(42) == [4, 5, 6])
        #expect(EmbeddingCache(dimension: 4).load(from: path) == 0)  // wrong dimension: ignored
        let small = EmbeddingCache(dimension: 3, capacity: 2)
        small.put(1, [1, 1, 1])
        small.put(2, [2, 2, 2])
        small.put(3, [3, 3, 3])  // full: flushed first
        #expect(small.count == 1 && small.get(3) == [3, 3, 3] && small.get(1) == nil)
    }

    @Test func hhDialoguesSplitIntoPromptAndReplies() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-pairs-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = [
            #"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Bread?\n\nAssistant: Flour and water.", "rejected": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Bread?\n\nAssistant: No."}"#,
            #"{"prompt": "P", "chosen": "a", "rejected": "b"}"#,
            #"{"prompt": "P", "chosen": "same", "rejected": "same"}"#,
            "",
        ]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let pairs = try PreferencePairs.load(path)
        #expect(pairs.count == 2)
        #expect(pairs[0].prompt == "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Bread?\n\nAssistant:")
        #expect(pairs[0].chosen == "Flour and water.")
        #expect(pairs[0].rejected == "No.")
        #expect(pairs[1] == PreferencePair(prompt: "P", chosen: "a", rejected: "b"))
        try "{\"chosen\": 1}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: EnvrunError.self) { try PreferencePairs.load(path) }
        let split = PreferencePairs.holdOut(Array(repeating: pairs[1], count: 10), every: 5)
        #expect(split.train.count == 8 && split.heldOut.count == 2)
    }
}
