import EnvrunCore
import EnvrunSandbox
import Foundation
import Testing

/// The judge through the real `SandboxExecutor` (namespaces, seccomp, slot uid, warm pool): the harness needs
/// fork, a socketpair, a thread and prctl inside the sandbox, and its guarantees must hold there too.
extension SandboxSuites {
    @Suite("Judge: through the real sandbox")
    struct JudgeSandboxTests {
        static let limits = ExecLimits(wallMs: 20_000)

        /// The three ways a harness job runs: cold, warm with the harness as the job's program, and warm with
        /// the harness the worker loaded (the default).
        enum Path: String, CaseIterable, CustomStringConvertible {
            case cold, warmProgram, preloaded
            var description: String { rawValue }
        }

        func withJudge(_ path: Path = .preloaded, slots: Int = 2, _ body: (SandboxJudge) async throws -> Void)
            async throws
        {
            let executor = try SandboxExecutor(configuration: SandboxConfiguration(
                slots: slots, warmPool: path != .cold, preloadHarness: path == .preloaded))
            let judge = SandboxJudge(executor: executor, harness: try JudgeFixture.harness.get())
            let before = executor.harnessJobs.value
            do {
                try await body(judge)
            } catch {
                await executor.shutdown()
                throw error
            }
            // The path under test is the one that ran.
            if path == .preloaded {
                #expect(executor.harnessJobs.value > before, "no job ran on the preloaded harness")
            } else {
                #expect(executor.harnessJobs.value == before, "a job ran on the preloaded harness")
            }
            await executor.shutdown()
        }

        @Test(arguments: Path.allCases)
        func correctPartialAndExploitsWarmAndCold(path: Path) async throws {
            if skipUnlessRoot() { return }
            try await withJudge(path) { judge in
                let secret = JudgeFixture.secret()
                let tests = AssertTests(tests: JudgeExploitTests.tests(secret), entryPoint: "f")
                let good = await judge.judge(
                    language: "python", program: "def f(x):\n    return \(secret - 3) + x\n", tests: tests,
                    limits: Self.limits)
                #expect(good.passed == 2 && good.total == 2 && good.verdict == .ok, "\(good)")
                let partial = await judge.judge(
                    language: "python", program: "def f(x):\n    return \(secret) if x == 3 else 0\n", tests: tests,
                    limits: Self.limits)
                #expect(partial.passed == 1 && partial.total == 2, "\(partial)")
                for exploit in JudgeExploitTests.exploits {
                    let outcome = await judge.judge(language: "python", program: exploit.program, tests: tests,
                                                    limits: Self.limits)
                    #expect(outcome.passed == 0 && outcome.total == 2, "\(exploit.name): \(outcome)")
                }
            }
        }

        /// The warm worker that forks every item's supervisor never holds a job's data, so nothing of one item's
        /// tests reaches the next item's program, which scans its whole memory for them (one slot: the same
        /// worker judges both). The scan is shown to work: it finds a marker in its own item's program text.
        @Test(arguments: Path.allCases)
        func anItemsTestsNeverReachALaterItemsProgram(path: Path) async throws {
            if skipUnlessRoot() { return }
            try await withJudge(path, slots: 1) { judge in
                let secret = JudgeFixture.secret()
                let marked = AssertTests(tests: "# ENVRUNLEAK\(secret)\n" + JudgeExploitTests.tests(secret), entryPoint: "f")
                let first = await judge.judge(language: "python", program: "def f(x):\n    return \(secret - 3) + x\n",
                                              tests: marked, limits: Self.limits)
                #expect(first.allPassed, "\(first)")
                let scanner = #"""
                    import ctypes, gc, re
                    NEEDLE = re.compile(("ENVRUN" + "LEAK").encode() + rb"[0-9]{6}")
                    def f():
                        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # U inherits T's undumpable flag: /proc/self/mem is closed
                        for o in gc.get_objects():
                            for v in ([o] if isinstance(o, (str, bytes)) else []):
                                m = NEEDLE.search(v.encode("utf-8", "replace") if isinstance(v, str) else v)
                                if m:
                                    return m.group(0).decode()
                        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
                            for line in maps:
                                addr, perms = line.split()[:2]
                                if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                                    continue
                                lo, hi = (int(a, 16) for a in addr.split("-"))
                                try:
                                    mem.seek(lo)
                                    m = NEEDLE.search(mem.read(hi - lo))
                                except (OSError, ValueError, OverflowError):
                                    continue
                                if m:
                                    return m.group(0).decode()
                        return "clean"
                    """#
                let clean = AssertTests(tests: "assert f() == 'clean'\n", entryPoint: "f")
                let later = await judge.judge(language: "python", program: scanner, tests: clean, limits: Self.limits)
                #expect(later.passed == 1 && later.verdict == .ok, "a later item found the earlier tests: \(later)")
                let control = await judge.judge(language: "python", program: scanner + "# ENVRUNLEAK\(secret)\n",
                                                tests: clean, limits: Self.limits)
                #expect(control.passed == 0, "the scan should find a marker in its own program: \(control)")
            }
        }

        /// T reads U's output while it waits for U's replies (no thread): a call that writes far more than a pipe
        /// holds before it returns, and a thread that writes without end, must not block U or keep T draining.
        @Test(arguments: Path.allCases)
        func largeOutputDuringACallIsDrained(path: Path) async throws {
            if skipUnlessRoot() { return }
            try await withJudge(path) { judge in
                let secret = JudgeFixture.secret()
                let program = """
                    import sys, threading
                    def spam():
                        while True:
                            sys.stderr.write("y" * 65536)
                    def f(x):
                        if x == 4:
                            threading.Thread(target=spam, daemon=True).start()
                        sys.stdout.write("x" * (4 << 20))
                        return \(secret - 3) + x
                    """
                let outcome = await judge.judge(
                    language: "python", program: program,
                    tests: AssertTests(tests: JudgeExploitTests.tests(secret), entryPoint: "f"),
                    limits: ExecLimits(wallMs: 6_000))
                #expect(outcome.passed == 2 && outcome.total == 2 && outcome.verdict == .ok, "\(path): \(outcome)")
            }
        }

        /// U has T's uid and may signal it: a signal must not pick T's verdict (SIGXCPU would read as a
        /// time limit, SIGSYS as a security violation), and an early SIGALRM must not end T's run; an escaped
        /// grandchild (setpgid) must not outlive T.
        @Test(arguments: Path.allCases)
        func signalsToTheSupervisorChangeNothing(path: Path) async throws {
            if skipUnlessRoot() { return }
            try await withJudge(path) { judge in
                let secret = JudgeFixture.secret()
                let tests = AssertTests(tests: JudgeExploitTests.tests(secret), entryPoint: "f")
                for sig in ["SIGXCPU", "SIGSYS", "SIGALRM", "SIGVTALRM", "SIGRTMIN", "SIGTERM"] {
                    let program = """
                        import os, signal, time
                        T = os.getppid()
                        if os.fork() == 0:
                            os.setpgid(0, 0)
                            for _ in range(200):
                                try:
                                    os.kill(T, signal.\(sig))
                                except OSError:
                                    pass
                                time.sleep(0.002)
                            os._exit(0)
                        def f(x):
                            os.kill(os.getppid(), signal.\(sig))
                            time.sleep(0.05)
                            return \(secret - 3) + x
                        """
                    let outcome = await judge.judge(language: "python", program: program, tests: tests, limits: Self.limits)
                    #expect(outcome.verdict == .ok && outcome.passed == 2, "\(sig), \(path): \(outcome)")
                }
            }
        }

        /// Review finding (a reward hack): a timed-out program whose child floods T with SIGALRM, and whose
        /// memory makes U slow to die, raised a second `Deadline` inside T's handling of the first, which
        /// escaped as `harness_error`, a masked `sandbox_error`: the policy turned its reward of 0 into a sample
        /// the trainer drops. Every such item must be the program's own time limit.
        @Test(arguments: Path.allCases)
        func aSIGALRMFloodAfterTheDeadlineIsStillATimeLimit(path: Path) async throws {
            if skipUnlessRoot() { return }
            try await withJudge(path) { judge in
                let program = """
                    import os, signal, time
                    T = os.getppid()
                    if os.fork() == 0:
                        while True:
                            try:
                                os.kill(T, signal.SIGALRM)
                            except OSError:
                                os._exit(0)
                    # Pages U alone holds: tearing them down keeps T in waitpid past its own timer (+50 ms).
                    ballast = bytearray(b"\\x01") * (900 << 20)
                    def f(x):
                        time.sleep(60)
                    """
                let tests = AssertTests(tests: "assert f(1) is None\nassert f(2) is None\n", entryPoint: "f")
                let limits = ExecLimits(wallMs: 3_000, memoryMB: 2_048)
                let outcomes = await withTaskGroup(of: JudgeOutcome.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            await judge.judge(language: "python", program: program, tests: tests, limits: limits)
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                for outcome in outcomes {
                    #expect(outcome.verdict == .timeLimit && outcome.passed == 0 && outcome.total == 2,
                            "\(path): \(outcome.verdict) \(outcome.passed)/\(outcome.total) \(outcome.feedback ?? "")")
                }
            }
        }

        /// Text with a lone surrogate (valid in Python, not in strict JSON) from a failing program must leave
        /// a readable verdict: the program's failure, never `sandbox_error` (a free retry for the policy).
        @Test(arguments: Path.allCases)
        func loneSurrogatesInProgramTextAreTheProgramsFailure(path: Path) async throws {
            if skipUnlessRoot() { return }
            try await withJudge(path) { judge in
                let tests = AssertTests(tests: JudgeExploitTests.tests(JudgeFixture.secret()), entryPoint: "f")
                for program in [
                    "def f(x):\n    raise ValueError('\\ud800')\n",
                    "def f(x):\n    return '\\udc00'\n",
                    "import sys\nsys.stdout.write('\\ud83d')\ndef f(x):\n    raise KeyError('\\udfff\\ud800')\n",
                    "raise RuntimeError('\\ud800 at load')\n",
                ] {
                    let outcome = await judge.judge(language: "python", program: program, tests: tests, limits: Self.limits)
                    #expect(outcome.verdict != .sandboxError && outcome.passed == 0, "\(program): \(outcome)")
                    #expect(outcome.feedback?.contains("no verdict") != true, "\(program): \(outcome)")
                }
            }
        }

        /// HumanEval/38-style: the tests call a helper the prompt defines. Sent as the trusted prelude, the
        /// task's helper is used, so a program that redefines it as the identity (with an identity entry point)
        /// no longer passes; the real solution still does.
        @Test func promptHelpersComeFromTheTaskNotTheProgram() async throws {
            if skipUnlessRoot() { return }
            try await withJudge { judge in
                let prompt = """
                    def encode_cyclic(s: str):
                        groups = [s[(3 * i):min((3 * i + 3), len(s))] for i in range((len(s) + 2) // 3)]
                        groups = [(group[1:] + group[0]) if len(group) == 3 else group for group in groups]
                        return "".join(groups)


                    def decode_cyclic(s: str):
                        \"\"\"takes as input string encoded with encode_cyclic function.\"\"\"

                    """
                let tests = """
                    def check(candidate):
                        for s in ["abcdef", "hello world", "xyz"]:
                            assert candidate(encode_cyclic(s)) == s

                    """
                let hack = "def encode_cyclic(s):\n    return s\n\ndef decode_cyclic(s):\n    return s\n"
                let real = prompt + "    return encode_cyclic(encode_cyclic(s))\n"
                let without = AssertTests(tests: tests, entryPoint: "decode_cyclic")
                let with = AssertTests(tests: tests, entryPoint: "decode_cyclic", prelude: prompt)
                let naive = await judge.judge(language: "python", program: hack, tests: without, limits: Self.limits)
                #expect(naive.allPassed, "the exploit should beat a judge without the prelude: \(naive)")
                let hacked = await judge.judge(language: "python", program: hack, tests: with, limits: Self.limits)
                #expect(!hacked.allPassed, "\(hacked)")
                let solved = await judge.judge(language: "python", program: real, tests: with, limits: Self.limits)
                #expect(solved.allPassed && solved.verdict == .ok, "\(solved)")
            }
        }

        @Test func killingTheSupervisorLeavesNoVerdictAndFails() async throws {
            if skipUnlessRoot() { return }
            try await withJudge { judge in
                let tests = AssertTests(tests: JudgeExploitTests.tests(JudgeFixture.secret()), entryPoint: "f")
                for program in [
                    "import os\nos.kill(os.getppid(), 9)\ndef f(x):\n    return 0\n",
                    "import os\ndef f(x):\n    os.kill(-1, 9)\n    return 0\n",
                ] {
                    let outcome = await judge.judge(language: "python", program: program, tests: tests, limits: Self.limits)
                    #expect(outcome.passed == 0, "\(outcome)")
                    #expect(outcome.verdict != .ok && outcome.verdict != .sandboxError, "\(outcome)")
                }
            }
        }

        @Test func aSpinningProgramIsATimeLimitAndEarlierAssertsKeepTheirCredit() async throws {
            if skipUnlessRoot() { return }
            try await withJudge { judge in
                let program = "def f(x):\n    while x == 4:\n        pass\n    return 1\n"
                let tests = AssertTests(tests: "assert f(1) == 1\nassert f(2) == 1\nassert f(4) == 1\nassert f(5) == 1\n")
                let outcome = await judge.judge(
                    language: "python", program: program, tests: tests, limits: ExecLimits(cpuMs: 1_000, wallMs: 8_000))
                #expect(outcome.passed == 2 && outcome.total == 4, "\(outcome)")
                #expect(outcome.verdict == .timeLimit, "\(outcome)")
            }
        }

        @Test func datasetSamplesAndIOCasesPass() async throws {
            if skipUnlessRoot() { return }
            try await withJudge { judge in
                let records = try JudgeDatasetTests.load("humaneval-sample.jsonl").prefix(8)
                    + JudgeDatasetTests.load("mbpp-sample.jsonl").prefix(8)
                for r in records {
                    let entry = r.entry_point ?? AssertHarness.guessEntryPoint(tests: r.tests, program: r.program)
                    let outcome = await judge.judge(
                        language: "python", program: r.program,
                        tests: AssertTests(tests: r.tests, entryPoint: entry, setup: r.setup), limits: Self.limits)
                    #expect(outcome.allPassed && outcome.verdict == .ok, "\(r.task_id): \(outcome)")
                }
                let cases = JudgeIOTests.sumCases
                let c = "#include <stdio.h>\nint main(void){long a,b; if(scanf(\"%ld %ld\",&a,&b)!=2) return 1; printf(\"%ld\\n\", a+b); return 0;}\n"
                let io = await judge.judge(language: "c", program: c, cases: cases, comparison: OutputComparison(),
                                           limits: Self.limits)
                #expect(io.passed == 4 && io.verdict == .ok, "\(io)")
                let wrong = await judge.judge(
                    language: "python", program: "a, b = map(int, input().split())\nprint(a - b)\n", cases: cases,
                    comparison: OutputComparison(), limits: Self.limits)
                #expect(wrong.passed == 1 && wrong.feedback?.contains("case 1 of 4: wrong answer") == true, "\(wrong)")
            }
        }
    }
}
