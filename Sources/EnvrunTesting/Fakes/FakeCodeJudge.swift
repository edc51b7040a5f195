import EnvrunCore
import Foundation
import Synchronization

/// An in-memory `CodeJudge` for tests of the layers above the sandbox. It runs nothing: `decide`
/// maps (program, number of tests) to an outcome. It records every program it was asked to judge.
public final class FakeCodeJudge: CodeJudge {
    public typealias Decide = @Sendable (_ program: String, _ total: Int) -> JudgeOutcome

    let decide: Decide
    let log = Mutex<[String]>([])

    public init(decide: @escaping Decide = FakeCodeJudge.markers) {
        self.decide = decide
    }

    /// The programs judged so far, in order.
    public var programs: [String] { log.withLock { $0 } }

    /// Default behaviour, driven by markers in the program text:
    /// `SANDBOX_ERROR` => verdict sandbox_error; `PASS_ALL` => every test passes;
    /// `PASS n` => n tests pass (the first failing one is reported as feedback); anything else => none pass.
    public static let markers: Decide = { program, total in
        if program.contains("SANDBOX_ERROR") {
            return JudgeOutcome(passed: 0, total: total, verdict: .sandboxError, feedback: "fake sandbox failure")
        }
        if program.contains("PASS_ALL") {
            return JudgeOutcome(passed: total, total: total, verdict: .ok)
        }
        var passed = 0
        if let r = program.range(of: "PASS ") {
            passed = Int(program[r.upperBound...].prefix(while: \.isNumber)) ?? 0
        }
        passed = min(passed, total)
        return JudgeOutcome(
            passed: passed, total: total, verdict: passed == total ? .ok : .runtimeError,
            feedback: passed == total ? nil : "AssertionError: test \(passed + 1) failed")
    }

    public func judge(
        language: String, program: String, cases: [IOCase], comparison: OutputComparison, limits: ExecLimits
    ) async -> JudgeOutcome {
        log.withLock { $0.append(program) }
        return decide(program, cases.count)
    }

    public func judge(language: String, program: String, tests: AssertTests, limits: ExecLimits) async -> JudgeOutcome {
        log.withLock { $0.append(program) }
        let total = tests.tests.split(separator: "\n").filter { $0.contains("assert") }.count
        return decide(program, max(total, 1))
    }
}
