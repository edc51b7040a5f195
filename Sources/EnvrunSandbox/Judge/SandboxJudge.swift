import EnvrunCore
import Logging

/// Judges programs through any `CodeExecutor`: stdin/stdout cases, and assert-style tests through the RPC
/// harness of `Sandbox/harness/`, where the verdict never lives in the process under test.
public struct SandboxJudge: CodeJudge {
    public struct Configuration: Sendable {
        /// Language ids that run the assert harness (the harness is Python); the first is used for the job.
        public var pythonLanguages: [String]
        /// Wall limit of an assert-harness job when the caller's limits leave it unset.
        public var defaultWallMs: Int
        /// Processes the harness job may have when the caller's limits leave it unset (T, U, and whatever U starts).
        public var harnessProcesses: Int
        /// Characters of input, expected and actual output quoted in stdin/stdout feedback.
        public var feedbackChars: Int

        public init(
            pythonLanguages: [String] = ["python", "python3"], defaultWallMs: Int = 10_000,
            harnessProcesses: Int = 16, feedbackChars: Int = 300
        ) {
            self.pythonLanguages = pythonLanguages
            self.defaultWallMs = defaultWallMs
            self.harnessProcesses = harnessProcesses
            self.feedbackChars = feedbackChars
        }
    }

    public let executor: any CodeExecutor
    public let harness: AssertHarness
    public let configuration: Configuration
    let logger: Logger

    public init(
        executor: any CodeExecutor, harness: AssertHarness, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "envrun.judge")
    ) {
        self.executor = executor
        self.harness = harness
        self.configuration = configuration
        self.logger = logger
    }

    /// Uses the harness found by `AssertHarness.locate()`.
    public init(
        executor: any CodeExecutor, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "envrun.judge")
    ) throws {
        self.init(executor: executor, harness: try AssertHarness.locate(), configuration: configuration,
                  logger: logger)
    }

    // MARK: assert-style tests

    public func judge(language: String, program: String, tests: AssertTests, limits: ExecLimits) async
        -> JudgeOutcome
    {
        guard let python = configuration.pythonLanguages.first,
            configuration.pythonLanguages.contains(language)
        else {
            return JudgeOutcome(
                passed: 0, total: 0, verdict: .sandboxError,
                feedback: "assert-style tests run only for Python (\(configuration.pythonLanguages)), not '\(language)'")
        }
        let wallMs = limits.wallMs ?? configuration.defaultWallMs
        // The supervisor must finish (kill U, print its verdict) before the executor's wall clock stops it;
        // its clock starts after the interpreter's start-up, which is slow on a loaded machine.
        let budgetMs = max(100, wallMs - min(max(1_000, wallMs / 10), wallMs / 2))
        var jobLimits = limits
        jobLimits.wallMs = wallMs
        jobLimits.processes = max(limits.processes ?? configuration.harnessProcesses, 4)
        let nonce = AssertHarness.makeNonce()
        let request = ExecRequest(
            language: python, source: harness.source,
            stdin: AssertHarness.stdin(program: program, tests: tests, nonce: nonce, budgetMs: budgetMs,
                                      sandboxed: executor is SandboxExecutor),
            limits: jobLimits)
        let result = await executor.run(request)
        let outcome = AssertHarness.outcome(of: result, nonce: nonce, tests: tests)
        logger.debug(
            "assert judge", metadata: ["passed": "\(outcome.passed)", "total": "\(outcome.total)",
                                       "verdict": "\(outcome.verdict.rawValue)"])
        return outcome
    }

    // MARK: stdin/stdout cases

    public func judge(
        language: String, program: String, cases: [IOCase], comparison: OutputComparison, limits: ExecLimits
    ) async -> JudgeOutcome {
        guard !cases.isEmpty else {
            return JudgeOutcome(passed: 0, total: 0, verdict: .sandboxError, feedback: "no stdin/stdout cases")
        }
        let request = ExecRequest(language: language, source: program, limits: limits)
        let results: [ExecResult]
        if let multi = executor as? any MultiRunExecutor {
            results = await multi.run(request, stdins: cases.map(\.input))
        } else {
            var runs: [ExecResult] = []
            for c in cases {
                var r = request
                r.stdin = c.input
                let result = await executor.run(r)
                runs.append(result)
                if result.verdict == .compileError {  // it will not compile for the next case either
                    runs += Array(repeating: result, count: cases.count - runs.count)
                    break
                }
            }
            results = runs
        }
        guard results.count == cases.count else {
            return JudgeOutcome(
                passed: 0, total: cases.count, verdict: .sandboxError,
                feedback: "the executor returned \(results.count) results for \(cases.count) cases", runs: results)
        }
        return IOReport(cases: cases, results: results, comparator: OutputComparator(comparison),
                        chars: configuration.feedbackChars).outcome()
    }
}
