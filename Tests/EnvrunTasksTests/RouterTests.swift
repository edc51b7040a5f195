import EnvrunCore
import EnvrunJudge
@testable import EnvrunRewards
import EnvrunTasks
import EnvrunTesting
import Foundation
import Testing

/// Every route (rule, scalar_rm, generative_rm, hybrid with each escalation and with weights), per pack and
/// per task, against the scripted judge over real HTTP and the fake scalar RM (score = length / 100).
@Suite("hybrid router")
struct RouterTests {
    let mathTask = TaskSpec(id: "m", prompt: "1+1?", answer: "2")
    let openTask = TaskSpec(id: "o", prompt: "Human: say something kind\n\nAssistant:")

    /// Scores each shown response by its content: "good" 9, anything else 3.
    static let fair: ScriptedJudgeServer.Script = { _, seen in
        .text(ScriptedJudgeServer.verdict(seen.responses.map { $0.contains("good") ? 9 : 3 }))
    }

    static func pool(_ server: ScriptedJudgeServer) -> JudgePool {
        var endpoint = JudgeEndpoint(baseURL: server.baseURL, model: "scripted")
        endpoint.backoffSeconds = 0.01
        return JudgePool(clients: ["default": OpenAIChatClient(endpoint: endpoint)])
    }

    static func rewarder(_ spec: RewardSpec, judges: JudgePool = .empty, rm: FakeScalarRewardModel = FakeScalarRewardModel())
        -> any Rewarder
    {
        let deps = RewardDependencies(
            codeJudge: FakeCodeJudge(), scalarRMFactory: { @Sendable _ in rm }, mathCheck: fakeMathCheck, judges: judges)
        return RewarderFactory.make(spec: spec, dependencies: deps, models: ScalarRMCache(factory: deps.scalarRMFactory))
    }

    static func hybrid(_ escalate: EscalationPolicy, weights: [RouteKind: Double]? = nil) -> RewardSpec {
        RewardSpec(
            verifier: .hybrid, scalarRM: ScalarRMSettings(model: "m"), generativeRM: GenerativeRMSettings(),
            route: RouteSettings(escalate: escalate, spreadBelow: 0.1, minGroup: 2, weights: weights))
    }

    @Test("generative_rm, group: joint: one judge call per group of same-prompt items, reward (mean − 1) / 9, samples kept")
    func generativeRMPackJudgesAGroupInOnePrompt() async throws {
        try await ScriptedJudgeServer.with(Self.fair) { server in
            var joint = GenerativeRMSettings()
            joint.joint = true
            let spec = RewardSpec(verifier: .generativeRM, generativeRM: joint)
            let r = Self.rewarder(spec, judges: Self.pool(server))
            let batch = [(openTask, "a good reply"), (openTask, "meh"), (mathTask, "good too"), (openTask, "bad")]
            let results = await r.score(batch: batch)
            #expect(results.map(\.status) == [.ok, .ok, .ok, .ok])
            #expect(results.map(\.source) == Array(repeating: .generativeRM, count: 4))
            let high: Double = 8.0 / 9, low: Double = 2.0 / 9
            #expect(results.map(\.reward) == [high, low, high, low])
            #expect(results[0].components["grm_mean"] == 9)
            #expect(results[1].details["group_size"] == "3" && results[2].details["group_size"] == "1")
            #expect(results[0].details["route"] == "generative_rm")
            #expect(results[0].details["route_reason"] == "the pack's route is generative_rm")
            // Two prompts: two judge calls, the open task's three responses shown together.
            #expect(server.requests.count == 2)
            #expect(server.requests.map(\.responses.count).sorted() == [1, 3])
            let samples = try JSONDecoder().decode([GRMSample].self, from: Data(results[0].details["samples"]!.utf8))
            #expect(samples.count == 1 && samples[0].text.contains("\\boxed{"))
        }
    }

    @Test("generative_rm by default: one response per judge prompt, so siblings cannot sway each other")
    func pointwiseByDefault() async throws {
        // A judge swayed by a sibling that disparages the others: in a joint prompt, "good" loses to it.
        let swayed: ScriptedJudgeServer.Script = { _, seen in
            let smear = seen.responses.contains { $0.contains("the other responses are wrong") }
            return .text(ScriptedJudgeServer.verdict(seen.responses.map {
                $0.contains("wrong") ? 9 : (smear ? 2 : ($0.contains("good") ? 9 : 3))
            }))
        }
        try await ScriptedJudgeServer.with(swayed) { server in
            let spec = RewardSpec(verifier: .generativeRM, generativeRM: GenerativeRMSettings())
            let results = await Self.rewarder(spec, judges: Self.pool(server)).score(batch: [
                (openTask, "a good reply"), (openTask, "the other responses are wrong"),
            ])
            #expect(results[0].reward == 8.0 / 9 && results[0].details["group_size"] == "1")
            #expect(server.requests.count == 2 && server.requests.allSatisfy { $0.responses.count == 1 })
        }
    }

    @Test("a judge that writes no usable scores: status error with its text, never a reward")
    func malformedJudgeIsAnError() async throws {
        try await ScriptedJudgeServer.with({ _, _ in .text("I like them all.") }) { server in
            let spec = RewardSpec(verifier: .generativeRM, generativeRM: GenerativeRMSettings())
            let result = await Self.rewarder(spec, judges: Self.pool(server)).score(task: openTask, response: "x")
            #expect(result.status == .error && result.reward == 0)
            #expect(result.details["error_code"] == "judge")
            #expect(result.details["samples"]?.contains("I like them all.") == true)
        }
    }

    @Test("hybrid, escalate spread: a group the RM cannot tell apart goes to the judge; a spread one does not")
    func spreadEscalation() async throws {
        try await ScriptedJudgeServer.with(Self.fair) { server in
            let r = Self.rewarder(Self.hybrid(.spread), judges: Self.pool(server))
            let other = TaskSpec(id: "o2", prompt: "Human: tell a joke\n\nAssistant:")
            // Same length (the fake RM scores length): spread 0 — unsure. Lengths 4 vs 60: spread 0.56.
            let results = await r.score(batch: [
                (openTask, "good"), (openTask, "bad!"), (other, "tiny"), (other, String(repeating: "x", count: 60)),
                (mathTask, "\\boxed{2}"),
            ])
            #expect(results.map { $0.details["route"] } == [
                "generative_rm", "generative_rm", "scalar_rm", "scalar_rm", "rule",
            ])
            #expect(results[0].reward == 8.0 / 9 && results[1].reward == 2.0 / 9)
            #expect(results[0].details["route_reason"]?.contains("unsure") == true, "\(results[0].details)")
            #expect(results[0].components["rm_score"] == 0.04)  // what the RM said is kept
            #expect(results[2].details["route_reason"]?.contains("no escalation") == true)
            #expect(results[4].reward == 1 && results[4].details["route_reason"]?.contains("gold answer") == true)
            #expect(server.requests.count == 2)  // the escalated group's two responses, one prompt each
        }
    }

    @Test("hybrid: escalate never keeps the RM; always asks the judge; a group of one is not escalated by spread")
    func neverAlwaysAndGroupsOfOne() async throws {
        try await ScriptedJudgeServer.with(Self.fair) { server in
            let never = await Self.rewarder(Self.hybrid(.never), judges: Self.pool(server))
                .score(batch: [(openTask, "good"), (openTask, "bad!")])
            #expect(never.map { $0.details["route"] } == ["scalar_rm", "scalar_rm"])
            #expect(server.requests.isEmpty)
            let one = await Self.rewarder(Self.hybrid(.spread), judges: Self.pool(server)).score(task: openTask, response: "good")
            #expect(one.details["route"] == "scalar_rm")
            #expect(one.details["route_reason"]?.contains("group of 1") == true)
            let always = await Self.rewarder(Self.hybrid(.always), judges: Self.pool(server)).score(task: openTask, response: "good")
            #expect(always.details["route"] == "generative_rm" && always.reward == 8.0 / 9)
            #expect(always.details["route_reason"] == "escalate: always")
            #expect(server.requests.count == 1)
        }
    }

    @Test("a task's route overrides the pack's; an unknown route is an error naming it")
    func perTaskOverride() async throws {
        try await ScriptedJudgeServer.with(Self.fair) { server in
            var spec = RewardSpec(verifier: .math, scalarRM: ScalarRMSettings(model: "m"), generativeRM: GenerativeRMSettings())
            spec.math = nil
            let r = Self.rewarder(spec, judges: Self.pool(server))
            var judged = mathTask
            judged.route = "generative_rm"
            var scalar = mathTask
            scalar.route = "scalar_rm"
            var bad = mathTask
            bad.route = "oracle"
            let results = await r.score(batch: [(mathTask, "\\boxed{2}"), (judged, "good"), (scalar, "abcd"), (bad, "2")])
            #expect(results.map { $0.details["route"] } == ["rule", "generative_rm", "scalar_rm", "none"])
            #expect(results[0].details["route_reason"] == "the pack's route is rule")
            #expect(results[1].details["route_reason"] == "the task's route is generative_rm")
            #expect(results[2].reward == 0.04)
            #expect(results[3].status == .error && results[3].details["error"]?.contains("oracle") == true)
        }
    }

    @Test("weights: every weighted source scores, the reward is the weighted sum, each source a component")
    func weightedCombination() async throws {
        try await ScriptedJudgeServer.with(Self.fair) { server in
            let spec = Self.hybrid(.never, weights: [.rule: 1, .scalarRM: 0.5, .generativeRM: 0.25])
            let r = Self.rewarder(spec, judges: Self.pool(server))
            let results = await r.score(batch: [(mathTask, "good \\boxed{2}"), (openTask, "good")])
            let math = results[0], open = results[1]
            #expect(math.source == .hybrid && math.status == .ok)
            // rule 1, RM 14 chars / 100, judge 8/9
            #expect(abs(math.reward - (1 + 0.5 * 0.14 + 0.25 * 8 / 9)) < 1e-12)
            #expect(math.components["rule"] == 1 && math.components["scalar_rm"] == 0.14)
            #expect(math.components["generative_rm"] == 8.0 / 9 && math.components["correct"] == 1)
            #expect(math.details["route"] == "hybrid")
            // The open task has no rule: that weight is left out and said so.
            #expect(abs(open.reward - (0.5 * 0.04 + 0.25 * 8 / 9)) < 1e-12)
            #expect(open.details["route_reason"]?.contains("not applicable: rule") == true, "\(open.details)")
        }
        // A weighted source that fails fails the item: no partial sum.
        try await ScriptedJudgeServer.with({ _, _ in .status(500) }) { server in
            let spec = Self.hybrid(.never, weights: [.rule: 1, .generativeRM: 1])
            let result = await Self.rewarder(spec, judges: Self.pool(server)).score(task: mathTask, response: "\\boxed{2}")
            #expect(result.status == .error && result.reward == 0)
            #expect(result.details["error"]?.contains("generative_rm failed") == true)
        }
    }

    @Test("a mixed pack (verifiable and open tasks, hybrid): rule, scalar_rm and generative_rm all answer")
    func mixedPack() async throws {
        let temp = try TempDir()
        defer { temp.cleanup() }
        let tasks = [
            TaskSpec(id: "sum", prompt: "What is 2+2?", answer: "4"),
            TaskSpec(id: "poem", prompt: "Write a kind line."),
            TaskSpec(id: "advice", prompt: "Give one study tip.", route: "generative_rm"),
        ]
        let yaml = """
            name: mixed
            version: 1.0.0
            description: verifiable and open tasks together
            license: CC0-1.0
            source: written for this test
            tasks: tasks.jsonl
            reward:
              verifier: hybrid
              rule: math
              model: Models/whatever
              judge:
                name: default
              escalate:
                when: spread
                spread_below: 0.05
            """
        let encoder = JSONEncoder()
        let dir = try temp.pack(
            "mixed", yaml: yaml, tasks: try tasks.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        try await ScriptedJudgeServer.with(Self.fair) { server in
            let pack = try TaskPack.load(directory: dir)
            #expect(pack.manifest.reward.generativeRM?.template?.id == "deepseek-grm@v1")
            let r = Self.rewarder(pack.manifest.reward, judges: Self.pool(server))
            let t = pack.tasks
            let results = await r.score(batch: [
                (t[0], "\\boxed{4}"), (t[1], "good line"), (t[1], "a much longer line than that one"), (t[2], "good"),
            ])
            #expect(results.map { $0.details["route"] } == ["rule", "scalar_rm", "scalar_rm", "generative_rm"])
            #expect(results.allSatisfy { $0.status == .ok }, "\(results.map(\.details))")
        }
    }

    @Test("pack loading: a task's unknown route, an unknown template and a template outside the pack are refused")
    func loadingChecksRoutesAndTemplates() throws {
        let temp = try TempDir()
        defer { temp.cleanup() }
        func load(_ reward: String, tasks: [String] = [#"{"id":"a","prompt":"p"}"#]) throws -> TaskPack {
            let dir = try temp.pack("p\(UUID().uuidString.prefix(8).lowercased())", yaml: manifest(name: "p", reward: reward), tasks: tasks)
            return try TaskPack.load(directory: dir)
        }
        func refusal(_ reward: String, tasks: [String] = [#"{"id":"a","prompt":"p"}"#]) -> String {
            do {
                _ = try load(reward, tasks: tasks)
                return "loaded"
            } catch { return "\(error)" }
        }
        #expect(refusal("  verifier: math", tasks: [#"{"id":"a","prompt":"p","route":"oracle"}"#]).contains("route"))
        #expect(refusal("  verifier: generative_rm\n  judge: {template: nope}").contains("no judge template \"nope\""))
        #expect(refusal("  verifier: generative_rm\n  judge: {template: /etc/passwd}").contains("reward.judge.template"))
        // A FIFO where the template should be is refused, not waited on.
        let fifoPack = try temp.pack("fifo", yaml: manifest(name: "fifo", reward: "  verifier: generative_rm\n  judge: {template: t.yaml}"),
                                     tasks: [#"{"id":"a","prompt":"p"}"#])
        #expect(mkfifo(fifoPack.appendingPathComponent("t.yaml").path, 0o600) == 0)
        #expect(throws: EnvrunError.self) { try TaskPack.load(directory: fifoPack) }
        // A template file in the pack loads, and the pack's task routes are kept.
        let dir = try temp.pack(
            "own", yaml: manifest(name: "own", reward: "  verifier: math\n  judge: {template: judge/mine.yaml}"),
            tasks: [#"{"id":"a","prompt":"p","answer":"1","route":"generative_rm"}"#])
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("judge"), withIntermediateDirectories: true)
        let shipped = try String(contentsOf: shippedPacks.deletingLastPathComponent()
            .appendingPathComponent("Judge/templates/deepseek-grm-v1.yaml"), encoding: .utf8)
        try shipped.replacingOccurrences(of: "name: deepseek-grm", with: "name: mine")
            .write(to: dir.appendingPathComponent("judge/mine.yaml"), atomically: true, encoding: .utf8)
        let pack = try TaskPack.load(directory: dir)
        #expect(pack.manifest.reward.generativeRM?.template?.name == "mine")
        #expect(pack.tasks[0].route == "generative_rm")
    }
}

/// SPCT's rule reward for training a judge.
@Suite("grm_rule")
struct GRMRuleTests {
    let task = TaskSpec(id: "p", prompt: "judge these", metadata: ["grm_best": "2", "grm_count": "3"])

    @Test(arguments: [
        ("Criteria…\nScores: \\boxed{3, 9, 4}", 1.0, "correct"),
        ("Scores: \\boxed{9, 3, 4}", -1.0, "wrong"),
        ("Scores: \\boxed{9, 9, 4}", -1.0, "wrong"),  // a tie does not single out the best
        ("Scores: \\boxed{3, 9}", -1.0, "malformed"),  // wrong count
        ("I like the second one.", -1.0, "malformed"),  // no box
        ("Scores: \\boxed{3, 11, 4}", -1.0, "malformed"),  // out of range
    ])
    func rewards(response: String, reward: Double, verdict: String) async {
        let r = await GRMRuleReward().score(task: task, response: response)
        #expect(r.status == .ok && r.reward == reward && r.details["verdict"] == verdict, "\(r.details)")
    }

    @Test func aTaskWithoutLabelsIsAnErrorNotAPenalty() async {
        for metadata in [nil, ["grm_count": "2"], ["grm_best": "3", "grm_count": "2"], ["grm_best": "1", "grm_count": "1"]]
            as [[String: String]?]
        {
            // (a count of 1 would make any in-range score a +1: nothing to single out)
            let response = metadata?["grm_count"] == "1" ? "Scores: \\boxed{5}" : "Scores: \\boxed{1, 2}"
            let r = await GRMRuleReward().score(task: TaskSpec(id: "x", prompt: "p", metadata: metadata), response: response)
            #expect(r.status == .error && r.reward == 0, "\(r)")
        }
    }

    @Test func packTasksShowTheChosenResponseAtASeededPlace() throws {
        let pairs = (0..<40).map { (prompt: "q\($0)", chosen: "CHOSEN \($0)", rejected: "REJECTED \($0)") }
        let tasks = GRMRulePack.tasks(pairs, template: try JudgeTemplate.load(), seed: 1)
        #expect(tasks == GRMRulePack.tasks(pairs, template: try JudgeTemplate.load(), seed: 1))
        let first = tasks.filter { $0.metadata?["grm_best"] == "1" }.count
        #expect(first > 10 && first < 30)  // both places are used
        for t in tasks {
            let best = Int(t.metadata!["grm_best"]!)!
            let chosenAt = t.prompt.range(of: "CHOSEN")!.lowerBound, rejectedAt = t.prompt.range(of: "REJECTED")!.lowerBound
            #expect((chosenAt < rejectedAt) == (best == 1))
        }
    }
}

@Suite("generative_rm details")
struct GRMDetailsTests {
    @Test func samplesDetailIsBoundedWhateverKAndTheJudgesVerbosity() {
        let json = #"{"index":0,"order":[0],"seed":1,"temperature":0.5,"text":"TEXT","scores":[5],"principles":"P","#
            + #""attempts":1,"voted":true,"judge_ms":1}"#
        let sample = try! JSONDecoder().decode(GRMSample.self, from: Data(json
            .replacingOccurrences(of: "TEXT", with: String(repeating: "é", count: 8000))
            .replacingOccurrences(of: "\"P\"", with: "\"" + String(repeating: "p", count: 4000) + "\"").utf8))
        let detail = GenerativeRMReward.samplesDetail(Array(repeating: sample, count: 64))
        #expect(detail.utf8.count <= GenerativeRMReward.samplesDetailBytes, "\(detail.utf8.count) bytes")
        #expect(detail.hasPrefix("[") && detail.contains("\"scores\":[5]"))
        // A small result keeps its texts whole.
        var short = sample
        short.text = "Scores: \\boxed{5}"
        #expect(GenerativeRMReward.samplesDetail([short]).contains("Scores: \\\\boxed{5}"))
    }
}
