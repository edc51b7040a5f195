import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRL

@Suite("envrun rank: best-of-N and rejection sampling")
struct RankTests {
    @Test func bestPicksTheHighestRewardAndReportsTheSpread() async throws {
        let env = try DriverTests.environment()
        let t = try env.tasks(pack: "add2", offset: 0, limit: 1)[0]
        let gold = Int(t.answer!)!
        let line = "{\"pack\":\"add2\",\"task_id\":\"\(t.id)\",\"responses\":[\"\(gold + 1)\",\"\\\\boxed{\(gold)}\",\"\(gold - 1)\"]}"
        let out = await Ranker(environment: env).rank(try Ranker.parse(line))
        #expect(out.count == 1)
        #expect(out[0]["best_index"] as? Int == 1)
        #expect(out[0]["reward"] as? Double == 1)
        #expect(out[0]["spread"] as? Double == 1)
        #expect(abs((out[0]["mean"] as! Double) - 1.0 / 3) < 1e-12)
    }

    @Test func filterKeepsThoseAtTheThresholdAndLeavesFailedChecksOut() async throws {
        let env = try DriverTests.environment()
        let t = try env.tasks(pack: "add2", offset: 0, limit: 1)[0]
        let inline = TaskSpec(id: "broken", prompt: "1 + 1", answer: "\\frac{")
        let ranker = Ranker(environment: env, mode: .filter, threshold: 1)
        let kept = await ranker.rank(Ranker.Input(id: nil, pack: "add2", taskID: t.id, task: nil, responses: [t.answer!, "0", t.answer!]))
        #expect(kept.map { $0["index"] as? Int } == [0, 2])
        // Every check failed: one error line, not a response ranked as 0.
        let broken = await ranker.rank(Ranker.Input(id: nil, pack: "add2", taskID: nil, task: inline, responses: ["2"]))
        #expect(broken.count == 1 && broken[0]["status"] as? String == "error" && broken[0]["response"] == nil)
    }

    @Test func malformedLinesAreClearErrors() {
        #expect(throws: EnvrunError.self) { try Ranker.parse("not json") }
        #expect(throws: EnvrunError.self) { try Ranker.parse("{\"pack\":\"a\",\"responses\":[\"x\"]}") }
        #expect(throws: EnvrunError.self) { try Ranker.parse("{\"pack\":\"a\",\"task_id\":\"1\",\"responses\":[]}") }
    }
}
