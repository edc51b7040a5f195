import EnvrunCore
import EnvrunVerify

/// Which reward source a pack uses. The names are the manifest's `reward.verifier` values.
public enum VerifierKind: String, Codable, Sendable, CaseIterable {
    case math
    case codeTests = "code_tests"
    case codeIO = "code_io"
    case exact
    case regex
    case scalarRM = "scalar_rm"
    /// Named in the schema; no generative RM exists yet, so it answers `not_applicable`.
    case generativeRM = "generative_rm"
    /// Rules where the task is verifiable (answer, tests, I/O cases), the scalar RM where not.
    case hybrid

    public var isCode: Bool { self == .codeTests || self == .codeIO }
}

/// How a code reward turns test results into a number.
public enum CodeRewardMode: String, Codable, Sendable, CaseIterable {
    /// passed / total.
    case fraction
    /// 1 when every test passes, else 0.
    case allOrNothing = "all_or_nothing"
}

/// Settings of `code_tests` and `code_io` rewards.
public struct CodeRewardSettings: Sendable, Equatable {
    public var language: String
    public var mode: CodeRewardMode
    public var limits: ExecLimits
    public var comparison: OutputComparison

    public init(
        language: String = "python", mode: CodeRewardMode = .fraction, limits: ExecLimits = ExecLimits(),
        comparison: OutputComparison = OutputComparison()
    ) {
        self.language = language
        self.mode = mode
        self.limits = limits
        self.comparison = comparison
    }
}

/// Settings of the `exact` reward: the extracted final answer equals the gold answer after normalisation.
public struct ExactSettings: Sendable, Equatable {
    public var caseSensitive: Bool
    public init(caseSensitive: Bool = false) { self.caseSensitive = caseSensitive }
}

/// Settings of the `regex` reward. The pattern is the manifest's, or the task's `answer` when none is given;
/// `{{answer}}` in a manifest pattern is replaced by the task's answer, escaped.
public struct RegexSettings: Sendable, Equatable {
    public var pattern: String?
    /// Match the whole extracted final answer instead of searching the response.
    public var fullMatch: Bool
    public init(pattern: String? = nil, fullMatch: Bool = false) {
        self.pattern = pattern
        self.fullMatch = fullMatch
    }
}

/// Settings of the scalar RM reward.
public struct ScalarRMSettings: Sendable, Equatable {
    /// Where the model lives, resolved by the pack loader (e.g. the absolute path of `Models/hh-helpful-head`).
    public var model: String
    /// Squash the raw score into (0, 1) with the logistic function.
    public var sigmoid: Bool
    public init(model: String, sigmoid: Bool = false) {
        self.model = model
        self.sigmoid = sigmoid
    }
}

/// A pack's reward spec: the verifier and its parameters.
public struct RewardSpec: Sendable, Equatable {
    public var verifier: VerifierKind
    /// nil: the defaults injected through `RewardDependencies.mathOptions`.
    public var math: VerifyOptions?
    public var code: CodeRewardSettings
    public var exact: ExactSettings
    public var regex: RegexSettings
    public var scalarRM: ScalarRMSettings?
    /// For `hybrid`: the rule used for tasks with a gold answer (`math`, `exact` or `regex`).
    public var hybridRule: VerifierKind
    /// Multi-turn episodes: how many submissions a model gets (1 = single turn).
    public var maxTurns: Int

    public init(
        verifier: VerifierKind, math: VerifyOptions? = nil, code: CodeRewardSettings = CodeRewardSettings(),
        exact: ExactSettings = ExactSettings(), regex: RegexSettings = RegexSettings(),
        scalarRM: ScalarRMSettings? = nil, hybridRule: VerifierKind = .math, maxTurns: Int = 1
    ) {
        self.verifier = verifier
        self.math = math
        self.code = code
        self.exact = exact
        self.regex = regex
        self.scalarRM = scalarRM
        self.hybridRule = hybridRule
        self.maxTurns = maxTurns
    }
}
