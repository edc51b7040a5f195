import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

@Suite struct ShippedHeadTests {
    static let headDir = TestSupport.root + "/Models/hh-helpful-head"

    @Test func shippedHeadLoadsAndScores() async throws {
        let (head, manifest) = try HeadStore.load(from: Self.headDir)
        #expect(manifest.features.embeddingDimension == 384)
        #expect(head.theta.allSatisfy { $0.isFinite })
        guard TestSupport.haveModel else { return }
        let rm = try EncoderRewardModel.load(modelDir: TestSupport.modelDir, headDir: Self.headDir, blasThreads: 1)
        let prompt = "\n\nHuman: How do I boil an egg?\n\nAssistant:"
        let responses = [
            "Put the egg in boiling water for about 8 minutes, then cool it in cold water before peeling.",
            "I don't know.",
        ]
        let async = try await rm.scores(prompts: [prompt, prompt], responses: responses)
        let sync = try rm.scoresSync(prompts: [prompt, prompt], responses: responses)
        #expect(async == sync)
        #expect(async.allSatisfy { $0.isFinite })
        #expect(async[0] > async[1], "\(async)")
        #expect(rm.cache.count == 3)  // one prompt, two responses: the repeated prompt is encoded once
        await #expect(throws: EnvrunError.self) { try await rm.scores(prompts: [prompt], responses: []) }
    }

    /// The metrics written by the training run that produced the shipped head: the head beat both baselines on
    /// the held-out pairs (recomputed by `envrun rm eval`; see Models/hh-helpful-head/TRAINING.md).
    @Test func shippedMetricsBeatBothBaselines() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.headDir + "/metrics.json"))
        let m = try JSONDecoder().decode(TrainingRun.Metrics.self, from: data)
        let held = try #require(m.heldOut)
        #expect(held.pairs == 470)
        #expect(held.headAccuracy > held.longerWinsAccuracy)
        #expect(held.headAccuracy > held.randomAccuracy)
    }
}
