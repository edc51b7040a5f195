import EnvrunCore
import EnvrunRewards
import EnvrunTasks
import EnvrunTesting
import Foundation
import Testing
@testable import EnvrunRL

/// The `openai` policy against the real llama.cpp server with SmolLM2-135M, over a hybrid mix of a
/// rule-scored pack (gsm8k) and an RM-scored one (hh-helpful, the OpenBLAS encoder + head).
@Suite("openai policy: batches from a real completions server", .serialized)
struct OpenAIPolicyTests {
    @Test(.timeLimit(.minutes(5)))
    func hybridBatchesCarryAlignedTokensLogprobsAndRewardPerSource() async throws {
        if let reason = LlamaJudgeServer.availability() {
            print("OpenAIPolicyTests skipped: \(reason)")
            return
        }
        guard let dir = PackLibrary.defaultDirectory() else {
            print("OpenAIPolicyTests skipped: no Tasks/ folder")
            return
        }
        let packs = try PackLibrary.load(directory: dir).filter { ["gsm8k", "hh-helpful"].contains($0.name) }
        guard FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent(".cache/models").path) else {
            print("OpenAIPolicyTests skipped: the encoder is not installed (.cache/models): run scripts/setup.sh")
            return
        }
        try await FDGate.exclusive {
            let server = try await LlamaJudgeServer.start()
            defer { server.stop() }
            var c = CollectConfig()
            c.packs = ["gsm8k", "hh-helpful"]
            c.steps = 1
            c.promptsPerStep = 2
            c.groupSize = 2
            let policy = OpenAICompletionsPolicy(baseURL: server.baseURL, model: server.modelName, maxTokens: 24, seed: 3)
            let run = RunDirectory(FileManager.default.temporaryDirectory.appendingPathComponent("envrun-oa-\(UUID().uuidString)"))
            let env = PackEnvironment(packs: packs, dependencies: RewardDependencies.live())
            let collector = try BatchCollector(config: c, environment: env, policy: policy, run: run)
            try await collector.run()

            let text = try String(contentsOf: collector.batchURL(step: 1), encoding: .utf8)
            let records = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(records.count == 4)
            var sources = Set<String>()
            for r in records {
                let ids = r["response_ids"] as! [Int], lps = r["rollout_logprobs"] as! [Double]
                let adv = r["advantages"] as! [Double], mask = r["response_mask"] as! [Int]
                #expect(!(r["prompt_ids"] as! [Int]).isEmpty)
                #expect(ids.count == lps.count && adv.count == ids.count && mask.count == ids.count)
                #expect(r["ids_aligned"] as? Bool == true)
                #expect(lps.allSatisfy { $0 <= 0 && $0.isFinite })
                #expect(ids.count <= 24)
                #expect((r["truncated"] as! Bool) == (ids.count == 24))
                #expect(r["status"] as? String == "ok", "\(r["error"] ?? "")")
                sources.formUnion((r["reward_by_source"] as! [String: Double]).keys)
            }
            #expect(sources == ["rule", "scalar_rm"])
            // Within a group the advantages are centred.
            for g in ["1-0", "1-1"] {
                let a = records.filter { $0["group_id"] as? String == g }.compactMap { $0["advantage"] as? Double }
                #expect(a.count == 2 && abs(a.reduce(0, +)) < 1e-9)
            }
            let m = try run.readMetrics()
            #expect(m.count == 1 && m[0]["critic/score/rule/mean"] != nil && m[0]["critic/score/scalar_rm/mean"] != nil)
        }
    }

    @Test func aServerThatIsNotThereIsAnErrorNotAnEmptyBatch() async throws {
        var p = OpenAICompletionsPolicy(baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "m", timeoutSeconds: 5)
        await #expect(throws: EnvrunError.self) {
            _ = try await p.rollouts(for: [PolicyPrompt(pack: "p", taskID: "1", text: "hi")], samples: 1)
        }
    }
}
