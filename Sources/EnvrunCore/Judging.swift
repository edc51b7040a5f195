// The contract for judging a program against tests (code rewards).

/// One stdin/stdout case.
public struct IOCase: Codable, Sendable, Equatable {
    public var input: String
    public var output: String
    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }
}

/// How stdout is compared with the expected output.
public struct OutputComparison: Codable, Sendable, Equatable {
    /// Compare token by token, ignoring runs of whitespace and trailing newlines.
    public var ignoreWhitespace: Bool
    /// When set, tokens that both parse as numbers match within this absolute-or-relative tolerance.
    public var floatTolerance: Double?
    public init(ignoreWhitespace: Bool = true, floatTolerance: Double? = nil) {
        self.ignoreWhitespace = ignoreWhitespace
        self.floatTolerance = floatTolerance
    }
}

/// Assert-style tests as in HumanEval/MBPP: the program, test code, and an optional entry point.
public struct AssertTests: Codable, Sendable, Equatable {
    public var tests: String
    public var entryPoint: String?
    public var setup: String?
    /// Code of the task itself whose definitions the tests may use (a HumanEval prompt defines helpers
    /// such as `encode_cyclic` that the tests call): run on the trusted side, before `setup`, all but
    /// the entry point's definition, so the program cannot supply them.
    public var prelude: String?
    public init(tests: String, entryPoint: String? = nil, setup: String? = nil, prelude: String? = nil) {
        self.tests = tests
        self.entryPoint = entryPoint
        self.setup = setup
        self.prelude = prelude
    }
}

/// The outcome of judging one program.
public struct JudgeOutcome: Codable, Sendable, Equatable {
    public var passed: Int
    public var total: Int
    /// The verdict of the first non-ok run, or `ok` when every run was ok.
    public var verdict: Verdict
    /// Short feedback for the model: the first failing case or assertion, the error.
    public var feedback: String?
    public var runs: [ExecResult]

    public init(passed: Int, total: Int, verdict: Verdict, feedback: String? = nil, runs: [ExecResult] = []) {
        self.passed = passed
        self.total = total
        self.verdict = verdict
        self.feedback = feedback
        self.runs = runs
    }

    public var allPassed: Bool { total > 0 && passed == total }
    public var fraction: Double { total == 0 ? 0 : Double(passed) / Double(total) }
}

/// Judges programs. The real implementation lives in `EnvrunSandbox`.
public protocol CodeJudge: Sendable {
    func judge(language: String, program: String, cases: [IOCase], comparison: OutputComparison,
               limits: ExecLimits) async -> JudgeOutcome
    func judge(language: String, program: String, tests: AssertTests, limits: ExecLimits) async -> JudgeOutcome
}
