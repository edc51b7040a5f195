import EnvrunCore
import EnvrunJudge
import EnvrunRewards
import EnvrunTesting
import EnvrunVerify
import Synchronization
import Testing

@Suite("reward sources and routing")
struct RewardTests {
    let codeTask = TaskSpec(
        id: "c", prompt: "def f(x):\n", tests: "assert f(1) == 1\nassert f(2) == 2\nassert f(3) == 3\n",
        entryPoint: "f", language: "python")
    let mathTask = TaskSpec(id: "m", prompt: "1+1?", answer: "2")
    let openTask = TaskSpec(id: "o", prompt: "Human: hi\n\nAssistant:")

    func deps(judge: FakeCodeJudge? = FakeCodeJudge(), rm: FakeScalarRewardModel? = FakeScalarRewardModel()) -> RewardDependencies {
        RewardDependencies(
            codeJudge: judge, scalarRMFactory: rm.map { model in { @Sendable _ in model } }, mathCheck: fakeMathCheck)
    }

    func rewarder(_ spec: RewardSpec, _ d: RewardDependencies) -> any Rewarder {
        RewarderFactory.make(spec: spec, dependencies: d, models: ScalarRMCache(factory: d.scalarRMFactory))
    }

    /// Whatever a response does to the math check is its own 0 with status ok, never a masked `error`: a
    /// policy must not escape a zero reward by writing answers the checker cannot handle.
    @Test(arguments: [
        "The total is 42.", "\\boxed{10^{10^{10}}}", String(repeating: "(", count: 5000) + "1",
        String(repeating: "x", count: 2_000_000), "\\boxed{\\frac{1}{2006!}}", "\\boxed{}", "\\boxed{\\frac{",
        "\\boxed{x^{y^{z^{w}}} - \\sqrt[\\infty]{0}}",
    ])
    func hostileMathResponsesAreScoredNotMasked(response: String) async {
        let deps = RewardDependencies()
        let r = await MathReward(options: deps.mathOptions, check: deps.mathCheck)
            .score(task: TaskSpec(id: "m", prompt: "?", answer: "2"), response: response)
        #expect(r.status == .ok && r.reward == 0, "\(r.status) \(r.details)")
    }

    @Test func hybridRoutesRuleCodeAndRM() async {
        var spec = RewardSpec(verifier: .hybrid, scalarRM: ScalarRMSettings(model: "m"))
        spec.code.mode = .fraction
        let r = rewarder(spec, deps())

        let math = await r.score(task: mathTask, response: "so \\boxed{2}")
        #expect(math.status == .ok && math.source == .rule && math.reward == 1)
        #expect(math.details["route"] == "rule")

        let code = await r.score(task: codeTask, response: "```python\ndef f(x):\n    return x  # PASS 2\n```")
        #expect(code.source == .rule && code.status == .ok)
        #expect(abs(code.reward - 2.0 / 3.0) < 1e-9)

        let open = await r.score(task: openTask, response: String(repeating: "a", count: 50))
        #expect(open.source == .scalarRM && open.status == .ok && open.reward == 0.5)
        #expect(open.details["route"] == "scalar_rm")
    }

    @Test func hybridWithoutRMIsNotApplicableForOpenTasks() async {
        let r = rewarder(RewardSpec(verifier: .hybrid), deps())
        let open = await r.score(task: openTask, response: "hello")
        #expect(open.status == .notApplicable)
        #expect(open.reward == 0)
        // ...while verifiable tasks still get their rule.
        #expect(await r.score(task: mathTask, response: "\\boxed{3}").status == .ok)
    }

    @Test func ruleRewardOnOpenTaskIsNotApplicable() async {
        for verifier in [VerifierKind.math, .exact, .regex, .codeTests] {
            let result = await rewarder(RewardSpec(verifier: verifier), deps()).score(task: openTask, response: "x")
            #expect(result.status == .notApplicable, "\(verifier)")
        }
    }

    @Test func generativeRMWithNoJudgeConfiguredIsAnErrorNotAFakeNumber() async {
        let spec = RewardSpec(verifier: .generativeRM, generativeRM: GenerativeRMSettings(judge: "absent"))
        let result = await rewarder(spec, deps()).score(task: openTask, response: "x")
        #expect(result.status == .error && result.source == .generativeRM && result.reward == 0)
        #expect(result.details["error"]?.contains("no judge named \"absent\"") == true, "\(result.details)")
        #expect(result.details["route"] == "generative_rm")
    }

    @Test func codeModes() async {
        let response = "def f(x):\n    return x  # PASS 1"
        var spec = RewardSpec(verifier: .codeTests)
        spec.code.mode = .fraction
        let fraction = await rewarder(spec, deps()).score(task: codeTask, response: response)
        #expect(abs(fraction.reward - 1.0 / 3.0) < 1e-9)
        #expect(fraction.details["passed"] == "1/3" && fraction.details["verdict"] == "runtime_error")
        // By default the judge's text (naming the failing test) does not reach the policy: counts and kind only.
        #expect(fraction.details["feedback"] == "Passed 1 of 3 tests (the tests are not shown). The program stopped with an error (runtime_error).")
        spec.code.feedback = .tests
        let full = await rewarder(spec, deps()).score(task: codeTask, response: response)
        #expect(full.details["feedback"] == "AssertionError: test 2 failed")
        spec.code.feedback = .none
        #expect(await rewarder(spec, deps()).score(task: codeTask, response: response).details["feedback"] == nil)
        spec.code.feedback = .summary
        spec.code.mode = .allOrNothing
        #expect(await rewarder(spec, deps()).score(task: codeTask, response: response).reward == 0)
        let all = await rewarder(spec, deps()).score(task: codeTask, response: "def f(x): return x  # PASS_ALL")
        #expect(all.reward == 1 && all.components["all_passed"] == 1)
    }

    @Test func failedChecksAreErrorsNotZeros() async {
        let spec = RewardSpec(verifier: .codeTests)
        let crashed = await rewarder(spec, deps()).score(task: codeTask, response: "SANDBOX_ERROR")
        #expect(crashed.status == .error && crashed.details["verdict"] == "sandbox_error")
        let noJudge = await rewarder(spec, deps(judge: nil)).score(task: codeTask, response: "PASS_ALL")
        #expect(noJudge.status == .error)

        let rmSpec = RewardSpec(verifier: .scalarRM, scalarRM: ScalarRMSettings(model: "m"))
        let failing = await rewarder(rmSpec, deps(rm: FakeScalarRewardModel(failure: "GPU on fire"))).score(task: openTask, response: "x")
        #expect(failing.status == .error && failing.source == .scalarRM)
        #expect(failing.details["error"]?.contains("GPU on fire") == true)
        let noRM = await rewarder(rmSpec, deps(rm: nil)).score(task: openTask, response: "x")
        #expect(noRM.status == .error)
        let nan = await rewarder(rmSpec, deps(rm: FakeScalarRewardModel(score: { _, _ in .nan }))).score(task: openTask, response: "x")
        #expect(nan.status == .error)

        var d = deps()
        d.mathCheck = { _, _, _ in VerifyResult(equivalent: false, status: .error, message: "verifier crashed") }
        let math = await rewarder(RewardSpec(verifier: .math), d).score(task: mathTask, response: "2")
        #expect(math.status == .error && math.details["error"] == "verifier crashed")
    }

    @Test func unloadableModelIsAnErrorEveryTime() async {
        let d = RewardDependencies(scalarRMFactory: { path in
            throw EnvrunError(.notFound, "no head at \(path)", field: "model")
        })
        let r = rewarder(RewardSpec(verifier: .scalarRM, scalarRM: ScalarRMSettings(model: "/nope")), d)
        for _ in 0..<2 {
            let result = await r.score(task: openTask, response: "x")
            #expect(result.status == .error && result.details["error"]?.contains("no head at /nope") == true)
        }
    }

    @Test func sigmoidSquashesRMScores() async {
        let rm = FakeScalarRewardModel(score: { _, _ in 0 })
        let r = rewarder(RewardSpec(verifier: .scalarRM, scalarRM: ScalarRMSettings(model: "m", sigmoid: true)), deps(rm: rm))
        let result = await r.score(task: openTask, response: "x")
        #expect(result.reward == 0.5 && result.components["rm_score"] == 0)
    }

    @Test func mathUsesInjectedOptionsAndReportsAnswer() async {
        let seen = OptionsBox()
        var d = deps()
        d.mathOptions.floatTolerance = 0.5
        d.mathCheck = { gold, response, options in
            seen.set(options)
            return fakeMathCheck(gold, response, options)
        }
        let wrong = await rewarder(RewardSpec(verifier: .math), d).score(task: mathTask, response: "I think \\boxed{3}")
        #expect(wrong.status == .ok && wrong.reward == 0 && wrong.details["extracted_answer"] == "3")
        #expect(wrong.details["verdict"] == "wrong")
        #expect(seen.get()?.floatTolerance == 0.5)
        var packOptions = VerifyOptions()
        packOptions.floatTolerance = 0.01
        _ = await rewarder(RewardSpec(verifier: .math, math: packOptions), d).score(task: mathTask, response: "2")
        #expect(seen.get()?.floatTolerance == 0.01)
    }

    @Test func aResponseWithoutAnAnswerIsAZeroNotAnError() async {
        var d = deps()
        d.mathCheck = { gold, _, _ in VerifyResult(equivalent: false, status: .unparseable, message: "no answer found") }
        let result = await rewarder(RewardSpec(verifier: .math), d).score(task: mathTask, response: "I don't know")
        #expect(result.status == .ok && result.reward == 0 && result.details["verdict"] == "no_answer")
    }

    @Test func exactAndRegex() async {
        let task = TaskSpec(id: "e", prompt: "capital?", answer: "Paris")
        let exact = rewarder(RewardSpec(verifier: .exact), deps())
        #expect(await exact.score(task: task, response: "Thinking...\nAnswer: paris.").reward == 1)
        #expect(await exact.score(task: task, response: "Answer: Lyon").reward == 0)
        let strict = rewarder(RewardSpec(verifier: .exact, exact: ExactSettings(caseSensitive: true)), deps())
        #expect(await strict.score(task: task, response: "Answer: paris").reward == 0)

        let regex = rewarder(RewardSpec(verifier: .regex, regex: RegexSettings(pattern: "(?i)\\b{{answer}}\\b")), deps())
        #expect(await regex.score(task: task, response: "it is PARIS of course").reward == 1)
        #expect(await regex.score(task: task, response: "Parisian").reward == 0)
        let full = rewarder(RewardSpec(verifier: .regex, regex: RegexSettings(pattern: "[0-9]+", fullMatch: true)), deps())
        #expect(await full.score(task: task, response: "so \\boxed{42}").reward == 1)
        #expect(await full.score(task: task, response: "so \\boxed{42a}").reward == 0)
    }

    @Test func programExtraction() {
        let stub = TaskSpec(id: "h", prompt: "from typing import List\n\n\ndef f(xs: List[int]) -> int:\n    \"\"\"doc\"\"\"\n",
                            tests: "x", entryPoint: "f")
        // Whole function in a fenced block: judged as is, with the stub's imports first.
        let full = CodeReward.program(task: stub, response: "Here:\n```python\ndef f(xs):\n    return 1\n```\nDone.")
        #expect(full == "from typing import List\ndef f(xs):\n    return 1\n")
        // A body only: a completion of the stub.
        let body = CodeReward.program(task: stub, response: "    return sum(xs)\n")
        #expect(body == stub.prompt + "    return sum(xs)\n")
        // Several blocks: the one defining the entry point wins.
        let many = CodeReward.program(task: stub, response: "```\nprint(f([1]))\n```\n```python\nimport os\ndef f(xs):\n    return 0\n```\n```\nf([])\n```")
        #expect(many.hasSuffix("import os\ndef f(xs):\n    return 0\n"))
        // A text prompt (MBPP) is never prepended, even with an entry point.
        let mbpp = TaskSpec(id: "m", prompt: "Write a function sum(a, b).", tests: "assert sum(1, 2) == 3", entryPoint: "sum")
        #expect(CodeReward.program(task: mbpp, response: "return a + b") == "return a + b")
        #expect(AnswerExtraction.lastBoxed("a \\boxed{\\frac{1}{2}} b \\boxed{x^{2}}") == "x^{2}")
    }
}

/// Records the assert tests it is asked to judge.
final class CapturingJudge: CodeJudge {
    let seen = Mutex<[AssertTests]>([])
    func judge(language: String, program: String, cases: [IOCase], comparison: OutputComparison,
               limits: ExecLimits) async -> JudgeOutcome { JudgeOutcome(passed: 0, total: 0, verdict: .ok) }
    func judge(language: String, program: String, tests: AssertTests, limits: ExecLimits) async -> JudgeOutcome {
        seen.withLock { $0.append(tests) }
        return JudgeOutcome(passed: 0, total: 1, verdict: .ok)
    }
}

@Test func aCodePromptGoesToTheJudgeAsItsTrustedPrelude() async {
    // HumanEval/38's tests call encode_cyclic, which the prompt defines: the judge's trusted side must define
    // it, or the program's own (identity) version would make its identity decode_cyclic pass.
    let judge = CapturingJudge()
    let reward = CodeReward(judge: judge, settings: CodeRewardSettings())
    let prompt = "def encode_cyclic(s: str):\n    return s[1:] + s[:1]\n\n\ndef decode_cyclic(s: str):\n    \"\"\"doc\"\"\"\n"
    let he = TaskSpec(id: "h", prompt: prompt, tests: "assert decode_cyclic(encode_cyclic('abc')) == 'abc'",
                      entryPoint: "decode_cyclic")
    _ = await reward.score(task: he, response: "```python\ndef encode_cyclic(s):\n    return s\ndef decode_cyclic(s):\n    return s\n```")
    let mbpp = TaskSpec(id: "m", prompt: "Write a function f.", tests: "assert f() == 1", entryPoint: "f")
    _ = await reward.score(task: mbpp, response: "def f():\n    return 1\n")
    let seen = judge.seen.withLock { $0 }
    #expect(seen.map(\.prelude) == [prompt, nil])
}

final class OptionsBox: Sendable {
    private let value = Mutex<VerifyOptions?>(nil)
    func set(_ v: VerifyOptions) { value.withLock { $0 = v } }
    func get() -> VerifyOptions? { value.withLock { $0 } }
}

@Suite("scalar RM cache")
struct ScalarRMCacheTests {
    @Test func concurrentFirstCallsLoadOnce() async {
        let loads = Mutex(0)
        let cache = ScalarRMCache(factory: { _ in
            loads.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(20))
            return FakeScalarRewardModel()
        })
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { _ = await cache.model("head") } }
        }
        #expect(loads.withLock { $0 } == 1)
        _ = await cache.model("other")
        #expect(loads.withLock { $0 } == 2)
    }
}
