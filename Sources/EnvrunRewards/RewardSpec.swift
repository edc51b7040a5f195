import EnvrunCore
import EnvrunJudge
import EnvrunVerify

/// Which reward source a pack uses. The names are the manifest's `reward.verifier` values.
public enum VerifierKind: String, Codable, Sendable, CaseIterable {
    case math
    case codeTests = "code_tests"
    case codeIO = "code_io"
    case exact
    case regex
    case scalarRM = "scalar_rm"
    /// An LLM judge in DeepSeek-GRM's form (principles, critiques, 1–10 scores), through `EnvrunJudge`.
    case generativeRM = "generative_rm"
    /// Rules where the task is verifiable (answer, tests, I/O cases), else the scalar RM, escalating to the
    /// judge when the RM is unsure (see `RouteSettings`).
    case hybrid
    /// SPCT's rule reward for training a judge: +1 when the response's scores single out the labelled best.
    case grmRule = "grm_rule"

    public var isCode: Bool { self == .codeTests || self == .codeIO }
}

/// How much of a failed run's judge output reaches the response's author. The tests are the reward: a
/// policy shown the failing test's input and expected output learns to special-case it on its next turn,
/// and a program can raise an error carrying the inputs it was called with. So by default (`summary`) only
/// the counts and the kind of failure are shown (a compiler's message too, which reads only the program);
/// `tests` shows the first failing case in full (for packs whose tests are public), `none` nothing.
public enum CodeFeedback: String, Codable, Sendable, CaseIterable {
    case summary, tests, none
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
    /// What a failed run tells the policy (the `feedback` detail, the next turn's observation).
    public var feedback: CodeFeedback = .summary

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

/// Settings of the generative RM reward (`reward.judge` in a manifest).
public struct GenerativeRMSettings: Sendable, Equatable {
    /// The judge's name in the server's configuration (`--judge-url` defines `default`).
    public var judge: String
    /// A shipped template's name (`deepseek-grm-v1`) or, once the pack loader resolved it, a file's path.
    public var templateReference: String
    /// The loaded template; nil until the pack loader loads it (the rewarder then loads it itself).
    public var template: JudgeTemplate?
    public var sampling: GRMSettings
    /// A scalar RM that rates each sample's principles and critique: only the top `k_meta` vote.
    public var metaModel: String?
    /// Judge the same-prompt items of a batch together in one prompt (DeepSeek-GRM's joint form, cheaper:
    /// one call per group) instead of one response per prompt (the default). Joint scoring lets responses
    /// affect each other's scores — a policy can gain advantage by disparaging its siblings — so it is opt-in.
    public var joint: Bool = false

    public init(
        judge: String = "default", templateReference: String = JudgeTemplate.defaultName,
        sampling: GRMSettings = GRMSettings(), metaModel: String? = nil
    ) {
        self.judge = judge
        self.templateReference = templateReference
        self.sampling = sampling
        self.metaModel = metaModel
    }
}

/// The four routes a pack (or one task, by its `route` field) can take.
public enum RouteKind: String, Sendable, Codable, CaseIterable {
    case rule
    case scalarRM = "scalar_rm"
    case generativeRM = "generative_rm"
    case hybrid
}

/// When `hybrid` asks the judge after the scalar RM (`reward.escalate`).
public enum EscalationPolicy: String, Sendable, Codable, CaseIterable {
    /// Never: the scalar RM's score stands.
    case never
    /// When the RM is unsure: the spread (max − min) of a group's RM scores is under `spreadBelow`.
    /// A group is the items of one batch with the same task and prompt (a GRPO group).
    case spread
    /// Every open task goes to the judge as well; the judge's score stands.
    case always
}

/// How `hybrid` routes and combines.
public struct RouteSettings: Sendable, Equatable {
    public var escalate: EscalationPolicy
    /// For `spread`: escalate a group whose RM scores lie within this distance of each other.
    public var spreadBelow: Double
    /// Groups smaller than this are never escalated by `spread` (one score has no spread).
    public var minGroup: Int
    /// Weighted combination: when set, every source named here scores the item and the reward is
    /// Σ weight × that source's reward (`rule`, `scalar_rm`, `generative_rm`); each stays a component.
    public var weights: [RouteKind: Double]?

    public init(escalate: EscalationPolicy = .never, spreadBelow: Double = 0.1, minGroup: Int = 2,
                weights: [RouteKind: Double]? = nil) {
        self.escalate = escalate
        self.spreadBelow = spreadBelow
        self.minGroup = minGroup
        self.weights = weights
    }
}

/// A rule that scores the steps of a math response (`RewardResult.stepRewards`).
public enum MathStepRule: String, Sendable, Equatable, CaseIterable {
    /// One step per digit of the response's final integer, in the order the response writes them: 1 when
    /// the digit equals the gold answer's digit of the same place value (missing gold places count as 0),
    /// else 0. For integer answers only; other answers get no step rewards.
    case digits
}

/// A pack's reward spec: the verifier and its parameters.
public struct RewardSpec: Sendable, Equatable {
    public var verifier: VerifierKind
    /// nil: the defaults injected through `RewardDependencies.mathOptions`.
    public var math: VerifyOptions?
    /// Process supervision from a rule (`math.step_rewards`): nil gives outcome rewards only.
    public var mathSteps: MathStepRule?
    public var code: CodeRewardSettings
    public var exact: ExactSettings
    public var regex: RegexSettings
    public var scalarRM: ScalarRMSettings?
    /// For `generative_rm`, and for `hybrid` when it escalates or combines.
    public var generativeRM: GenerativeRMSettings?
    /// For `hybrid`: escalation and weights.
    public var route: RouteSettings
    /// For `hybrid`: the rule used for tasks with a gold answer (`math`, `exact` or `regex`).
    public var hybridRule: VerifierKind
    /// Multi-turn episodes: how many submissions a model gets (1 = single turn).
    public var maxTurns: Int

    public init(
        verifier: VerifierKind, math: VerifyOptions? = nil, code: CodeRewardSettings = CodeRewardSettings(),
        exact: ExactSettings = ExactSettings(), regex: RegexSettings = RegexSettings(),
        scalarRM: ScalarRMSettings? = nil, generativeRM: GenerativeRMSettings? = nil,
        route: RouteSettings = RouteSettings(), hybridRule: VerifierKind = .math, maxTurns: Int = 1
    ) {
        self.verifier = verifier
        self.math = math
        self.code = code
        self.exact = exact
        self.regex = regex
        self.scalarRM = scalarRM
        self.generativeRM = generativeRM
        self.route = route
        self.hybridRule = hybridRule
        self.maxTurns = maxTurns
    }
}
