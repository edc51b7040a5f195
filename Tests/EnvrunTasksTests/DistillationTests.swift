import EnvrunCore
import EnvrunJudge
import EnvrunRM
import EnvrunRewards
import EnvrunTesting
import Foundation
import Testing

/// `rm distill`: a head trained on a judge's labels learns the judge's preference, not the humans'. The
/// scripted judge prefers the longer response; the "humans" here prefer the shorter one, so the two are
/// told apart by the report.
@Suite("rm distill")
struct DistillationTests {
    @Test(.enabled(if: encoderInstalled, "encoder weights missing: run scripts/setup.sh (hook setup.d/rm.sh)"),
          .timeLimit(.minutes(5)))
    func theHeadLearnsTheJudgesPreference() async throws {
        let topics = ["tea", "rain", "maps", "bread", "chess", "rivers", "clocks", "bees", "snow", "glass"]
        let pairs = (0..<50).map { i -> PreferencePair in
            let t = topics[i % topics.count]
            return PreferencePair(
                prompt: "Human: tell me about \(t) (\(i))\n\nAssistant:", chosen: "\(t.capitalized) is nice.",
                rejected: "Here is a long answer about \(t): " + String(repeating: "it has history, uses and many facts. ", count: 3 + i % 4))
        }
        let longer: ScriptedJudgeServer.Script = { _, seen in
            let lengths = seen.responses.map(\.count)
            return .text(ScriptedJudgeServer.verdict(lengths.map { $0 == lengths.max()! ? 9 : 2 }))
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-distill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try await ScriptedJudgeServer.with(longer) { server in
            let judge = GenerativeRewardModel(
                client: OpenAIChatClient(endpoint: JudgeEndpoint(baseURL: server.baseURL, model: "scripted")),
                template: try JudgeTemplate.load(), cache: nil)
            var options = RMDistillation.Options()
            options.training.epochs = 60
            options.training.l2 = 0.01
            options.training.learningRate = 1e-2
            options.cachePath = nil
            let report = try await RMDistillation.run(
                pairs: pairs, judge: judge, settings: GRMSettings(), options: options, outDir: out, log: { _ in })
            #expect(report.trainPairs == 40 && report.labelled == 40 && report.judgeVsHumanTrain.accuracy == 0)
            #expect(report.judgeVsHuman.pairs == 10 && report.judgeVsHuman.accuracy == 0)
            #expect(report.headVsJudge.accuracy >= 0.9, "\(report.headVsJudge)")
            #expect(report.headVsHuman.accuracy <= 0.1, "\(report.headVsHuman)")
            #expect(FileManager.default.fileExists(atPath: out + "/head.json"))
            let labels = try String(contentsOfFile: out + "/judge-pairs.jsonl", encoding: .utf8)
            #expect(labels.split(separator: "\n").count == 40 && labels.contains("\"chosen\":\"Here is a long answer"))
        }
    }
}
