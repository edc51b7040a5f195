import EnvrunCore
import Logging

/// `code_tests` and `code_io`: runs the response's code in the sandbox judge against the task's
/// assert-style tests or stdin/stdout cases. Reward = fraction of tests passed, or all-or-nothing.
/// A judge that is missing or fails (`sandbox_error`) gives status `error`, never a silent 0.
public struct CodeReward: Rewarder {
    public var settings: CodeRewardSettings
    let judge: (any CodeJudge)?
    let logger: Logger

    public init(judge: (any CodeJudge)?, settings: CodeRewardSettings,
                logger: Logger = Logger(label: "envrun.rewards.code")) {
        self.judge = judge
        self.settings = settings
        self.logger = logger
    }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        guard task.tests != nil || task.ioCases?.isEmpty == false else {
            return RewardResult(reward: 0, status: .notApplicable, details: ["reason": "task has no tests or io_cases"])
        }
        let program = Self.program(task: task, response: response)
        guard let outcome = await judge(task: task, program: program) else {
            return .error("no code judge is configured (the sandbox is unavailable)")
        }
        return result(outcome)
    }

    /// Runs a complete program (a reference solution, or an already extracted response) against the task.
    public func judge(task: TaskSpec, program: String) async -> JudgeOutcome? {
        guard let judge else { return nil }
        let language = task.language ?? settings.language
        if let tests = task.tests {
            // A prompt that is code (a stub defining the entry point) may define helpers the tests
            // call: the judge's trusted side defines them, not the program.
            let promptIsCode = task.entryPoint.map { AnswerExtraction.definesFunction(task.prompt, $0) } ?? false
            let assertTests = AssertTests(tests: tests, entryPoint: task.entryPoint, setup: task.testSetup,
                                          prelude: promptIsCode ? task.prompt : nil)
            return await judge.judge(language: language, program: program, tests: assertTests, limits: settings.limits)
        }
        return await judge.judge(
            language: language, program: program, cases: task.ioCases ?? [], comparison: settings.comparison,
            limits: settings.limits)
    }

    /// Turns a judge outcome into a reward.
    public func result(_ outcome: JudgeOutcome) -> RewardResult {
        var details = ["verdict": outcome.verdict.rawValue, "passed": "\(outcome.passed)/\(outcome.total)"]
        if outcome.verdict == .sandboxError {
            details["error"] = outcome.feedback ?? "the sandbox failed to run the program"
            // The step that failed: the run's own (set by the executor) or the judge's.
            let failure = outcome.runs.lazy.compactMap(\.failure).first
                ?? SandboxFailure(step: "judge")
            details["sandbox_step"] = failure.step
            if let slot = failure.slot { details["sandbox_slot"] = String(slot) }
            if outcome.runs.allSatisfy({ $0.failure == nil }) {
                logger.warning("sandbox_error from the judge: \(details["error"] ?? "")", metadata: ["step": "judge"])
            }
            return RewardResult(reward: 0, status: .error, details: details)
        }
        details["feedback"] = Self.feedback(outcome, settings.feedback)
        let reward: Double
        switch settings.mode {
        case .fraction: reward = outcome.fraction
        case .allOrNothing: reward = outcome.allPassed ? 1 : 0
        }
        return RewardResult(
            reward: reward, components: ["tests_passed": outcome.fraction, "all_passed": outcome.allPassed ? 1 : 0],
            details: details)
    }

    /// The feedback a failed run gives at `level` (see `CodeFeedback`); nil when every test passed.
    static func feedback(_ o: JudgeOutcome, _ level: CodeFeedback) -> String? {
        guard !o.allPassed else { return nil }
        switch level {
        case .none: return nil
        case .tests: return o.feedback
        case .summary:
            let count = "Passed \(o.passed) of \(o.total) tests (the tests are not shown)."
            switch o.verdict {
            case .ok: return count
            case .compileError:
                let message = o.feedback.map { String($0.prefix(1500)) } ?? ""
                return "The program does not compile:\n" + message
            case .timeLimit: return count + " The program ran out of time."
            case .memoryLimit: return count + " The program ran out of memory."
            case .outputLimit: return count + " The program wrote too much output."
            case .securityViolation: return count + " The program made a forbidden system call."
            default: return count + " The program stopped with an error (\(o.verdict.rawValue))."
            }
        }
    }

    /// The program to judge: the code of the response. When the prompt is a stub that defines the entry point
    /// (HumanEval style), a response that does not define it is taken as a completion of the prompt, and a
    /// response that does gets the prompt's imports.
    public static func program(task: TaskSpec, response: String) -> String {
        let code = AnswerExtraction.code(response, entryPoint: task.entryPoint)
        guard let entry = task.entryPoint, (task.language ?? "python").hasPrefix("python") else { return code }
        // Only a prompt that is itself code (a stub defining the entry point) can be completed.
        guard AnswerExtraction.definesFunction(task.prompt, entry) else { return code }
        if AnswerExtraction.definesFunction(code, entry) {
            let imports = AnswerExtraction.pythonImports(task.prompt).filter { !code.contains($0) }
            return imports.isEmpty ? code : imports.joined(separator: "\n") + "\n" + code
        }
        return task.prompt + code
    }
}
