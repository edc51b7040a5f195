import EnvrunCore
import EnvrunJudge
import EnvrunRewards
import EnvrunTesting
import Foundation
import Synchronization
import Testing

@testable import EnvrunTasks

@Suite("shipped packs and tooling")
struct ShippedPacksTests {
    @Test func everyShippedPackLoadsWithItsCountsAndNotes() throws {
        let packs = try PackLibrary.load(directory: shippedPacks)
        let counts = Dictionary(uniqueKeysWithValues: packs.map { ($0.name, $0.tasks.count) })
        #expect(counts == ["addition": 10000, "arith": 1000, "gsm8k": 1319, "hh-grm-rule": 400, "hh-helpful": 2352, "humaneval": 164,
                           "math500": 500, "mbpp": 974, "mixed": 100])
        for pack in packs {
            // Generated packs (arith, addition) carry no third-party data, so no LICENSE file.
            for file in ["SOURCE.md"] + (pack.manifest.generator != nil ? [] : ["LICENSE"]) {
                #expect(FileManager.default.fileExists(atPath: pack.directory.appendingPathComponent(file).path),
                        "\(pack.name) lacks \(file)")
            }
        }
        let verifiers = Dictionary(uniqueKeysWithValues: packs.map { ($0.name, $0.manifest.reward.verifier) })
        #expect(verifiers == ["addition": .math, "arith": .math, "gsm8k": .math, "hh-grm-rule": .grmRule, "hh-helpful": .scalarRM,
                              "humaneval": .codeTests, "math500": .math, "mbpp": .codeTests, "mixed": .hybrid])
    }

    /// Every shipped pack's first task through the real router (fake sandbox judge and RM, the scripted LLM
    /// judge): the pack's route answers and says so; the same task with its own `route` goes elsewhere.
    @Test func everyShippedPackRoutesAsItsVerifierSays() async throws {
        let expected: [String: String] = [
            "addition": "rule", "arith": "rule", "gsm8k": "rule", "math500": "rule", "humaneval": "rule", "mbpp": "rule",
            "hh-grm-rule": "rule", "hh-helpful": "scalar_rm", "mixed": "rule",
        ]
        let verdict: ScriptedJudgeServer.Script = { _, seen in .text(ScriptedJudgeServer.verdict(seen.responses.map { _ in 7 })) }
        try await ScriptedJudgeServer.with(verdict) { server in
            let judges = JudgePool(clients: ["default": OpenAIChatClient(endpoint: JudgeEndpoint(baseURL: server.baseURL, model: "s"))])
            let deps = RewardDependencies(
                codeJudge: FakeCodeJudge(), scalarRMFactory: { @Sendable _ in FakeScalarRewardModel() },
                mathCheck: fakeMathCheck, judges: judges)
            for pack in try PackLibrary.load(directory: shippedPacks) {
                var spec = pack.manifest.reward
                spec.generativeRM = GenerativeRMSettings()  // so a task may route to the judge
                let rewarder = RewarderFactory.make(spec: spec, dependencies: deps, models: ScalarRMCache(factory: deps.scalarRMFactory))
                var task = try #require(pack.tasks.first)
                let own = await rewarder.score(task: task, response: "Scores: \\boxed{3, 8} and \\boxed{42}")
                #expect(own.details["route"] == expected[pack.name], "\(pack.name): \(own.details)")
                #expect(own.status != .error || pack.manifest.reward.verifier.isCode, "\(pack.name): \(own.details)")
                task.route = "generative_rm"
                let judged = await rewarder.score(task: task, response: "a response")
                #expect(judged.details["route"] == "generative_rm" && judged.status == .ok && judged.reward == 6.0 / 9,
                        "\(pack.name): \(judged.details)")
            }
            // The mixed pack as shipped: its gold-answer task to the rule, an open group the RM cannot tell
            // apart (equal lengths: the fake RM scores length) to the judge, a group it can to the RM.
            let mixed = try TaskPack.load(directory: shippedPacks.appendingPathComponent("mixed"))
            let rewarder = RewarderFactory.make(
                spec: mixed.manifest.reward, dependencies: deps, models: ScalarRMCache(factory: deps.scalarRMFactory))
            let math = try #require(mixed.task(id: "gsm8k/test-0000")), open = try #require(mixed.task(id: "hh/test-0000"))
            let other = try #require(mixed.task(id: "hh/test-0001"))
            let results = await rewarder.score(batch: [
                (math, "\\boxed{18}"), (open, "Sure, here you go."), (open, "No, I will not."),
                (other, "Short."), (other, String(repeating: "A much longer and more detailed answer. ", count: 5)),
            ])
            #expect(results.map { $0.details["route"] } == ["rule", "generative_rm", "generative_rm", "scalar_rm", "scalar_rm"],
                    "\(results.map(\.details))")
            #expect(results[0].reward == 1 && results.allSatisfy { $0.status == .ok })
        }
    }

    /// Field checks and the arith generator check pass with no sandbox and no verifier (those parts are skipped,
    /// and say so).
    @Test func validatorFindsNoFieldProblemsInShippedPacks() async throws {
        let validator = PackValidator(dependencies: RewardDependencies(mathCheck: fakeMathCheck))
        for pack in try PackLibrary.load(directory: shippedPacks) {
            let report = await validator.validate(pack, runReferences: true)
            let problems = report.problems.filter { $0.kind != .model && $0.kind != .gold }
            #expect(problems.isEmpty, "\(pack.name): \(problems.prefix(3))")
            if pack.manifest.reward.verifier.isCode {
                #expect(report.skipped.contains { $0.contains("no sandbox judge") })
                #expect(report.referencesRun == 0)
            }
        }
    }

    /// With the real `EnvrunVerify.MathVerifier`: every gold answer of the math packs parses (and equals
    /// itself), and a right and a wrong response score 1 and 0.
    @Test func goldAnswersParseWithTheRealVerifier() async throws {
        let validator = PackValidator(dependencies: RewardDependencies())
        for name in ["gsm8k", "math500", "arith"] {
            let pack = try TaskPack.load(directory: shippedPacks.appendingPathComponent(name))
            let report = await validator.validate(pack, runReferences: false)
            #expect(report.skipped.isEmpty, "\(report.skipped)")
            #expect(report.goldChecked == pack.tasks.count && report.goldPassed == report.goldChecked, "\(report.problems.prefix(3))")
        }
        let env = try PackEnvironment(directory: shippedPacks)
        let right = try await env.score(ScoreItem(pack: "gsm8k", taskID: "test-0000", response: "16 - 3 - 4 = 9 eggs, 9 * 2 = 18. \\boxed{18}"))
        #expect(right.status == .ok && right.reward == 1 && right.details["extracted_answer"] == "18")
        let wrong = try await env.score(ScoreItem(pack: "math500", taskID: "test/precalculus/807.json", response: "\\boxed{(3, \\pi)}"))
        #expect(wrong.status == .ok && wrong.reward == 0)
        let equivalent = try await env.score(ScoreItem(pack: "math500", taskID: "test/precalculus/807.json", response: "\\boxed{\\left(3,\\frac{\\pi}{2}\\right)}"))
        #expect(equivalent.reward == 1)
    }

    @Test func gsm8kAndHumanEvalSpotChecks() throws {
        let gsm = try TaskPack.load(directory: shippedPacks.appendingPathComponent("gsm8k"))
        #expect(gsm.task(id: "test-0000")?.answer == "18")
        #expect(gsm.tasks.allSatisfy { Double($0.answer ?? "x") != nil })
        let he = try TaskPack.load(directory: shippedPacks.appendingPathComponent("humaneval"))
        let t = try #require(he.task(id: "HumanEval/0"))
        #expect(t.entryPoint == "has_close_elements" && t.reference?.hasPrefix(t.prompt) == true)
        let mbpp = try TaskPack.load(directory: shippedPacks.appendingPathComponent("mbpp"))
        #expect(mbpp.tasks.allSatisfy { ($0.tests ?? "").split(separator: "\n").allSatisfy { $0.hasPrefix("assert") } })
        #expect(mbpp.tasks.filter { $0.testSetup != nil }.count == 2)
    }

    @Test func validatorRunsReferencesThroughTheJudgeAndReportsEachFailure() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.pack("c", yaml: manifest(name: "c", reward: "  verifier: code_tests"), tasks: [
            #"{"id":"good","prompt":"p","tests":"assert 1","reference":"PASS_ALL"}"#,
            #"{"id":"bad","prompt":"p","tests":"assert 1\nassert 2","reference":"PASS 1"}"#,
            #"{"id":"none","prompt":"p","tests":"assert 1"}"#,
            #"{"id":"notests","prompt":"p","reference":"x"}"#,
        ])
        let pack = try TaskPack.load(directory: dir.url.appendingPathComponent("c"))
        let progress = ProgressLog()
        let report = await PackValidator(dependencies: RewardDependencies(codeJudge: FakeCodeJudge()))
            .validate(pack) { done, total in progress.add(done, total) }
        #expect(report.referencesRun == 2 && report.referencesPassed == 1)
        #expect(report.problems.map(\.taskID) == ["notests", "bad"])
        #expect(report.problems.last?.message.contains("passed 1/2") == true)
        #expect(progress.values == [(1, 2), (2, 2)])
    }

    @Test func validatorCatchesAStaleGeneratedFile() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var p = ArithParameters()
        p.count = 20
        let url = dir.url.appendingPathComponent("gen")
        try PackScaffold.create(name: "gen", at: url, generator: p)
        var pack = try TaskPack.load(directory: url)
        let validator = PackValidator(dependencies: RewardDependencies(mathCheck: fakeMathCheck))
        #expect(await validator.validate(pack).ok)
        pack.tasks[3].answer = "12345"
        let stale = await validator.validate(pack)
        #expect(stale.problems.map(\.kind) == [.generator])
        #expect(stale.problems.first?.taskID == pack.tasks[3].id)
    }

    @Test func goldAnswersThatDoNotParseAreReported() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.pack("g", yaml: manifest(name: "g", reward: "  verifier: math"), tasks: [
            #"{"id":"ok","prompt":"p","answer":"1"}"#, #"{"id":"broken","prompt":"p","answer":"\\frac{"}"#,
        ])
        let pack = try TaskPack.load(directory: dir.url.appendingPathComponent("g"))
        let check: MathCheck = { gold, _, _ in
            gold.contains("{") && !gold.contains("}")
                ? .init(equivalent: false, status: .unparseable) : .init(equivalent: true, status: .ok)
        }
        let report = await PackValidator(dependencies: RewardDependencies(mathCheck: check)).validate(pack)
        #expect(report.goldChecked == 2 && report.goldPassed == 1)
        #expect(report.problems.map(\.taskID) == ["broken"])
        // A verifier that cannot run is reported as skipped, not as 2 bad answers.
        let down = await PackValidator(dependencies: RewardDependencies(mathCheck: { _, _, _ in
            .init(equivalent: false, status: .error, message: "not implemented")
        })).validate(pack)
        #expect(down.problems.isEmpty && down.skipped.first?.contains("not implemented") == true)
    }

    @Test(arguments: VerifierKind.allCases)
    func scaffoldIsAValidPack(verifier: VerifierKind) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.url.appendingPathComponent("new-pack")
        let files = try PackScaffold.create(name: "new-pack", at: url, verifier: verifier)
        #expect(files.count == 3)
        let pack = try TaskPack.load(directory: url)
        #expect(pack.manifest.reward.verifier == verifier && !pack.tasks.isEmpty)
        #expect(throws: EnvrunError.self) { try PackScaffold.create(name: "new-pack", at: url) }
    }

    @Test func statsSummariseMetadata() throws {
        let stats = PackStats(try TaskPack.load(directory: shippedPacks.appendingPathComponent("math500")))
        #expect(stats.tasks == 500 && stats.fields["answer"] == 500)
        #expect(stats.metadata["level"]?.values.reduce(0, +) == 500)
        #expect(stats.metadata["solution"] == nil)
        #expect(stats.render().contains("level: 1 43, 2 90, 3 105, 4 128, 5 134"))
    }
}

final class ProgressLog: Sendable {
    let log = Mutex<[(Int, Int)]>([])
    func add(_ a: Int, _ b: Int) { log.withLock { $0.append((a, b)) } }
    var values: [(Int, Int)] { log.withLock { $0 } }
}

func == (lhs: [(Int, Int)], rhs: [(Int, Int)]) -> Bool {
    lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0 == $1 }
}

let repositoryRoot = shippedPacks.deletingLastPathComponent()
let encoderInstalled = FileManager.default.fileExists(
    atPath: repositoryRoot.appendingPathComponent(".cache/models/all-MiniLM-L6-v2/model.safetensors").path)

@Suite("hh-helpful with the real reward model")
struct RealRMTests {
    @Test(.enabled(if: encoderInstalled, "encoder weights missing: run scripts/setup.sh (hook setup.d/rm.sh)"))
    func scoresChosenAndRejectedInOneBatch() async throws {
        let env = try PackEnvironment(directory: shippedPacks, dependencies: .live())
        let pack = try env.pack(named: "hh-helpful")
        let tasks = Array(pack.tasks.prefix(6))
        var items: [ScoreItem] = []
        for t in tasks {
            items.append(ScoreItem(pack: "hh-helpful", taskID: t.id, response: t.metadata?["chosen"] ?? ""))
            items.append(ScoreItem(pack: "hh-helpful", taskID: t.id, response: t.metadata?["rejected"] ?? ""))
        }
        let batch = try await env.score(batch: items).map { try $0.get() }
        for r in batch {
            #expect(r.status == .ok && r.source == .scalarRM && r.reward.isFinite, "\(r)")
            #expect(r.details["model"] == "minilm:hh-helpful-head")
        }
        // One at a time gives the same numbers as the batch.
        let single = try await env.score(items[3])
        #expect(abs(single.reward - batch[3].reward) < 1e-4)
        #expect(Set(batch.map(\.reward)).count > 1)
    }
}
