import EnvrunCore
import EnvrunSandbox
import EnvrunTesting
import Foundation
import Testing

/// Shared by the Judge*Tests: the judge over the unsandboxed test executor, with the harness of this checkout.
enum JudgeFixture {
    static let executor = LocalProcessExecutor()
    static let harness = Result { try AssertHarness.locate() }

    static func judge() throws -> SandboxJudge {
        SandboxJudge(executor: executor, harness: try harness.get())
    }

    /// Generous: runs that end normally take milliseconds, but the shared 2-core machine is sometimes very loaded.
    static let limits = ExecLimits(wallMs: 30_000)

    /// A value the program cannot know in advance.
    static func secret() -> Int { Int.random(in: 100_000...999_999) }
}

// Nested in SandboxSuites (serialized): the sandbox suites' fd and process leak checks must not see
// this suite's runs.
extension SandboxSuites {
    @Suite("Judge: assert-style tests")
    struct JudgeAssertTests {
        let judge: SandboxJudge
        init() throws { judge = try JudgeFixture.judge() }

        static let humanEvalTests = """
            def check(candidate):
                assert candidate(2, 3) == 5
                assert candidate(-1, 1) == 0
                assert candidate(10, 5) == 15
                for a in range(5):
                    assert candidate(a, a) == 2 * a

            """

        @Test func correctProgramPassesEverything() async throws {
            let outcome = await judge.judge(
                language: "python", program: "def add(a, b):\n    return a + b\n",
                tests: AssertTests(tests: Self.humanEvalTests, entryPoint: "add"), limits: JudgeFixture.limits)
            #expect(outcome.passed == 4)
            #expect(outcome.total == 4)
            #expect(outcome.verdict == .ok)
            #expect(outcome.feedback == nil)
            #expect(outcome.allPassed)
        }

        @Test func partiallyCorrectProgramGetsPartialCredit() async throws {
            // Wrong only when a == 10: the third assert fails, the loop's assert passes for all of its runs.
            let program = "def add(a, b):\n    return a + b + (1 if a == 10 else 0)\n"
            let outcome = await judge.judge(
                language: "python", program: program,
                tests: AssertTests(tests: Self.humanEvalTests, entryPoint: "add"), limits: JudgeFixture.limits)
            #expect(outcome.passed == 3)
            #expect(outcome.total == 4)
            #expect(outcome.verdict == .ok)
            let feedback = try #require(outcome.feedback)
            #expect(feedback.contains("assert candidate(10, 5) == 15"))
            #expect(feedback.contains("left side was 16"))
        }

        @Test func anAssertInALoopFailsWhenAnyIterationFails() async throws {
            let program = "def add(a, b):\n    return a + b if a != 3 else 0\n"
            let outcome = await judge.judge(
                language: "python", program: program,
                tests: AssertTests(tests: Self.humanEvalTests, entryPoint: "add"), limits: JudgeFixture.limits)
            #expect(outcome.passed == 3)
            #expect(outcome.total == 4)
        }

        @Test func mbppStyleTopLevelAssertsCountSeparatelyAndContinueAfterAnError() async throws {
            let program = "def half(x):\n    if x == 0:\n        raise ValueError('zero')\n    return x // 2\n"
            let tests = "assert half(4) == 2\nassert half(0) == 0\nassert half(9) == 4\nassert half(8) == 5\n"
            let outcome = await judge.judge(
                language: "python", program: program, tests: AssertTests(tests: tests), limits: JudgeFixture.limits)
            #expect(outcome.passed == 2)
            #expect(outcome.total == 4)
            #expect(outcome.verdict == .runtimeError)  // the program raised during a call
            let feedback = try #require(outcome.feedback)
            #expect(feedback.contains("assert half(0) == 0"))
            #expect(feedback.contains("ValueError: zero"))
        }

        @Test func setupCodeBuildsProgramObjectsThatTheTestsPass() async throws {
            let program = """
                class Node:
                    def __init__(self, v):
                        self.v = v
                        self.left = None
                def depth(n):
                    return 0 if n is None else 1 + depth(n.left)
                """
            let setup = "root = Node(1)\nroot.left = Node(2)\nroot.left.left = Node(3)\n"
            let outcome = await judge.judge(
                language: "python", program: program,
                tests: AssertTests(tests: "assert depth(root) == 3\nassert depth(root.left) == 2\n", setup: setup),
                limits: JudgeFixture.limits)
            #expect(outcome.passed == 2)
            #expect(outcome.total == 2)
        }

        @Test func aSyntaxErrorInTheProgramFailsEveryAssert() async throws {
            let outcome = await judge.judge(
                language: "python", program: "def add(a, b)\n    return a + b\n",
                tests: AssertTests(tests: Self.humanEvalTests, entryPoint: "add"), limits: JudgeFixture.limits)
            #expect(outcome.passed == 0)
            #expect(outcome.total == 4)
            #expect(outcome.verdict == .runtimeError)
            #expect(outcome.feedback?.contains("SyntaxError") == true)
        }

        @Test func brokenTestsAreTheJudgesErrorNotTheProgramsFault() async throws {
            let outcome = await judge.judge(
                language: "python", program: "def f():\n    return 1\n",
                tests: AssertTests(tests: "assert f( == 1\n"), limits: JudgeFixture.limits)
            #expect(outcome.verdict == .sandboxError)
            #expect(outcome.passed == 0)
        }

        @Test func otherLanguagesAreRejectedClearly() async throws {
            let outcome = await judge.judge(
                language: "c", program: "int main(){}", tests: AssertTests(tests: "assert True"),
                limits: JudgeFixture.limits)
            #expect(outcome.verdict == .sandboxError)
            #expect(outcome.feedback?.contains("only for Python") == true)
        }

        @Test func theUntrustedProcessHoldsOnlyItsSocketAndOutputPipe() async throws {
            let program = """
                import os, sys
                def open_fds():
                    out = []
                    for fd in range(256):
                        try:
                            os.fstat(fd)
                            out.append(fd)
                        except OSError:
                            pass
                    return out
                def stdin_text():
                    return sys.stdin.read() if sys.stdin else ""
                def stdout_is_pipe():
                    import stat
                    return stat.S_ISFIFO(os.fstat(1).st_mode) and stat.S_ISFIFO(os.fstat(2).st_mode)
                def parent_readable():
                    for what in ("fd/0", "fd/1", "mem", "environ"):
                        try:
                            with open("/proc/%d/%s" % (os.getppid(), what), "rb") as f:
                                f.read(1)
                            return what
                        except OSError:
                            pass
                    return None
                """
            let tests = """
                assert open_fds() == [0, 1, 2, 3]
                assert stdin_text() == ""
                assert stdout_is_pipe() == True
                assert parent_readable() is None
                """
            let outcome = await judge.judge(
                language: "python", program: program, tests: AssertTests(tests: tests), limits: JudgeFixture.limits)
            #expect(outcome.passed == 4, "\(outcome.feedback ?? "")")
            #expect(outcome.total == 4)
        }

        @Test func entryPointGuessFindsTheCalledFunction() {
            let program = "import math\ndef helper(x):\n    return x\ndef sum(a, b):\n    return helper(a) + b\n"
            #expect(AssertHarness.guessEntryPoint(tests: "assert sum(10,15) == 25", program: program) == "sum")
            #expect(AssertHarness.guessEntryPoint(tests: "assert math.floor(2.5) == 2", program: program) == nil)
        }
    }
}
