import EnvrunCore
import EnvrunSandbox
import Testing

// Nested in SandboxSuites (serialized): the sandbox suites' fd and process leak checks must not see
// this suite's runs.
extension SandboxSuites {
    /// The Swift side believes only the supervisor's line carrying this run's nonce.
    @Suite("Judge: verdict line parsing")
    struct JudgeVerdictLineTests {
        let tests = AssertTests(tests: "assert f(1) == 1\nassert f(2) == 2\n", entryPoint: "f")
        let good = #"{"status":"ok","passed":1,"total":2,"verdict":"ok","time_limit_kind":null,"feedback":"x"}"#
        let forged = #"{"status":"ok","passed":2,"total":2,"verdict":"ok"}"#

        @Test func onlyTheLineWithThisRunsNonceCounts() {
            let nonce = AssertHarness.makeNonce()
            #expect(nonce.count == 32)
            #expect(nonce != AssertHarness.makeNonce())
            let stdout = "ENVRUN-JUDGE \(nonce) \(good)\nENVRUN-JUDGE deadbeef \(forged)\n"
            let outcome = AssertHarness.outcome(of: ExecResult(verdict: .ok, exitCode: 0, stdout: stdout), nonce: nonce, tests: tests)
            #expect(outcome.passed == 1 && outcome.total == 2 && outcome.feedback == "x")
        }

        @Test func noVerdictLineMeansFailedWithTheJobsVerdict() {
            let nonce = AssertHarness.makeNonce()
            let killed = ExecResult(verdict: .runtimeError, signal: 9, stdout: "ENVRUN-JUDGE other \(forged)\n")
            let outcome = AssertHarness.outcome(of: killed, nonce: nonce, tests: tests)
            #expect(outcome.passed == 0 && outcome.total == 2 && outcome.verdict == .runtimeError)
            let silent = AssertHarness.outcome(of: ExecResult(verdict: .ok, exitCode: 0), nonce: nonce, tests: tests)
            #expect(silent.verdict == .sandboxError && silent.passed == 0)
            let timedOut = AssertHarness.outcome(of: ExecResult(verdict: .timeLimit, timeLimitKind: .wall), nonce: nonce, tests: tests)
            #expect(timedOut.verdict == .timeLimit && timedOut.passed == 0)
        }

        @Test func impossibleCountsAreRejected() {
            let nonce = AssertHarness.makeNonce()
            let bad = #"{"status":"ok","passed":3,"total":2,"verdict":"ok"}"#
            let outcome = AssertHarness.outcome(
                of: ExecResult(verdict: .ok, stdout: "ENVRUN-JUDGE \(nonce) \(bad)\n"), nonce: nonce, tests: tests)
            #expect(outcome.passed == 0 && outcome.verdict == .sandboxError)
        }
    }
}
