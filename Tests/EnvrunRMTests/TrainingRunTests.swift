import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

@Suite struct TrainingRunTests {
    /// The `envrun rm train` pipeline end to end on a small pairs file, with the real encoder.
    @Test func trainsWritesAndReloads() async throws {
        guard TestSupport.haveModel else { return }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-trainrun-\(getpid())").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let topics = ["bake bread", "boil an egg", "tie a tie", "plant tomatoes", "clean a pan", "fold a shirt",
                      "brew tea", "fix a flat tyre", "learn chess", "sharpen a knife", "paint a wall", "make rice"]
        var lines: [String] = []
        for t in topics {
            let prompt = "\n\nHuman: How do I \(t)?\n\nAssistant:"
            let obj: [String: String] = [
                "prompt": prompt, "chosen": "Here is how to \(t): gather what you need, then follow these steps carefully.",
                "rejected": "No.",
            ]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
        }
        let pairs = tmp + "/pairs.jsonl"
        try lines.joined(separator: "\n").write(toFile: pairs, atomically: true, encoding: .utf8)
        var run = TrainingRun(pairFiles: [pairs], outDir: tmp + "/head")
        run.modelDir = TestSupport.modelDir
        run.cachePath = tmp + "/cache.bin"
        run.holdoutEvery = 4
        run.training.epochs = 5
        run.training.learningRate = 0.05
        run.training.l2 = 1e-3
        run.commandLine = "test"
        let log = LogBox()
        let metrics = try run.run(log: { log.append($0) })
        #expect(metrics.trainPairs == 9 && metrics.heldOutPairs == 3)
        #expect(metrics.history.count == 5)
        let held = try #require(metrics.heldOut)
        #expect(held.headAccuracy == 1)  // "No." against a real answer is easy
        #expect(held.longerWinsAccuracy == 1)
        #expect(log.lines.contains { $0.hasPrefix("held-out (3 pairs)") })
        #expect(FileManager.default.fileExists(atPath: tmp + "/head/metrics.json"))
        #expect(EmbeddingCache(dimension: 384).load(from: tmp + "/cache.bin") == 12 + 12 + 1)  // prompts, answers, "No."
        let rm = try EncoderRewardModel.load(modelDir: TestSupport.modelDir, headDir: tmp + "/head", blasThreads: nil)
        let s = try await rm.scores(prompts: ["\n\nHuman: How do I make rice?\n\nAssistant:"], responses: ["No."])
        #expect(s.count == 1 && s[0].isFinite)
    }

    final class LogBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ s: String) { lock.withLock { stored.append(s) } }
        var lines: [String] { lock.withLock { stored } }
    }
}
