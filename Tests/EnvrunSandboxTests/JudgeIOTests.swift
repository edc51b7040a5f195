import EnvrunCore
import EnvrunSandbox
import EnvrunTesting
import Foundation
import Testing

/// Hides `MultiRunExecutor` and counts runs, to test the judge's one-run-per-case fallback.
actor CountingExecutor: CodeExecutor {
    let inner = LocalProcessExecutor()
    var runs = 0
    func run(_ request: ExecRequest) async -> ExecResult {
        runs += 1
        return await inner.run(request)
    }
}

// Nested in SandboxSuites (serialized): the sandbox suites' fd and process leak checks must not see
// this suite's runs.
extension SandboxSuites {
    @Suite("Judge: stdin/stdout cases")
    struct JudgeIOTests {
        let judge: SandboxJudge
        init() throws { judge = try JudgeFixture.judge() }

        static let sumCases = [
            IOCase(input: "1 2\n", output: "3\n"), IOCase(input: "10 -4\n", output: "6"),
            IOCase(input: "0 0", output: "0\n"), IOCase(input: "7 8\n", output: "15\n"),
        ]

        @Test func pythonCorrectAndPartiallyCorrect() async throws {
            let good = await judge.judge(
                language: "python", program: "a, b = map(int, input().split())\nprint(a + b)\n",
                cases: Self.sumCases, comparison: OutputComparison(), limits: JudgeFixture.limits)
            #expect(good.passed == 4 && good.total == 4 && good.verdict == .ok && good.feedback == nil)
            #expect(good.runs.count == 4)

            let partial = await judge.judge(
                language: "python", program: "a, b = map(int, input().split())\nprint(a + b if a < 5 else a * b)\n",
                cases: Self.sumCases, comparison: OutputComparison(), limits: JudgeFixture.limits)
            #expect(partial.passed == 2 && partial.total == 4 && partial.verdict == .ok)
            let feedback = try #require(partial.feedback)
            #expect(feedback.contains("case 2 of 4: wrong answer"))
            #expect(feedback.contains("10 -4") && feedback.contains("-40"))
        }

        @Test func runtimeErrorAndTimeLimitAreTheVerdictOfTheFirstBadRun() async throws {
            let program = "a, b = map(int, input().split())\nif a == 0:\n    while True: pass\nif a == 7:\n    raise SystemExit(3)\nprint(a + b)\n"
            let outcome = await judge.judge(
                language: "python", program: program, cases: Self.sumCases, comparison: OutputComparison(),
                limits: ExecLimits(wallMs: 5_000))
            #expect(outcome.passed == 2)
            #expect(outcome.verdict == .timeLimit)
            #expect(outcome.feedback?.contains("case 3 of 4: time_limit") == true)
            #expect(outcome.runs[3].verdict == .runtimeError, "\(outcome.runs[3])")
        }

        @Test func floatToleranceIsOptIn() async throws {
            let program = "import math\nprint(math.sqrt(float(input())))\n"
            let cases = [IOCase(input: "2", output: "1.41421"), IOCase(input: "9", output: "3")]
            let strict = await judge.judge(
                language: "python", program: program, cases: cases, comparison: OutputComparison(), limits: JudgeFixture.limits)
            #expect(strict.passed == 0)
            let tolerant = await judge.judge(
                language: "python", program: program, cases: cases, comparison: OutputComparison(floatTolerance: 1e-5),
                limits: JudgeFixture.limits)
            #expect(tolerant.passed == 2)
        }

        @Test func cIsCompiledOnceAndRunPerCase() async throws {
            let program = "#include <stdio.h>\nint main(void){long a,b; if(scanf(\"%ld %ld\",&a,&b)!=2) return 1; printf(\"%ld\\n\", a+b); return 0;}\n"
            let outcome = await judge.judge(
                language: "c", program: program, cases: Self.sumCases, comparison: OutputComparison(), limits: JudgeFixture.limits)
            #expect(outcome.passed == 4 && outcome.verdict == .ok)
        }

        @Test func compileErrorFailsEveryCaseAndCompilesOnceWithoutMultiRun() async throws {
            let counting = CountingExecutor()
            let judge = SandboxJudge(executor: counting, harness: try JudgeFixture.harness.get())
            let outcome = await judge.judge(
                language: "c", program: "int main( { return 0; }", cases: Self.sumCases, comparison: OutputComparison(),
                limits: JudgeFixture.limits)
            #expect(outcome.passed == 0 && outcome.total == 4 && outcome.verdict == .compileError)
            #expect(outcome.feedback?.hasPrefix("compile error") == true)
            #expect(await counting.runs == 1)

            let fine = await judge.judge(
                language: "python", program: "print(sum(map(int, input().split())))", cases: Self.sumCases,
                comparison: OutputComparison(), limits: JudgeFixture.limits)
            #expect(fine.passed == 4)
            #expect(await counting.runs == 5)
        }

        @Test func noCasesIsAnErrorNotAPass() async throws {
            let outcome = await judge.judge(
                language: "python", program: "print(1)", cases: [], comparison: OutputComparison(), limits: JudgeFixture.limits)
            #expect(outcome.verdict == .sandboxError && !outcome.allPassed)
        }
    }
}
