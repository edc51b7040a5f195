// What every reward source returns, whatever it is: rules, a scalar RM or a generative RM.

public enum RewardStatus: String, Codable, Sendable {
    /// The reward is meaningful.
    case ok
    /// The check itself failed (our fault or an unavailable judge). Never a silent 0.
    case error
    /// This source cannot score this task (e.g. a rule reward on an open-domain prompt).
    case notApplicable = "not_applicable"
}

public enum RewardSource: String, Codable, Sendable {
    case rule
    case scalarRM = "scalar_rm"
    case generativeRM = "generative_rm"
    /// A weighted combination of sources (`reward.weights`); `components` holds each source's reward.
    case hybrid
}

public struct RewardResult: Codable, Sendable, Equatable {
    public var reward: Double
    public var status: RewardStatus
    public var source: RewardSource
    /// Per-component breakdown, e.g. ["tests_passed": 0.8, "format": 1].
    public var components: [String: Double]
    /// Optional per-step rewards (process supervision).
    public var stepRewards: [Double]?
    /// Details: verdict, extracted answer, error message, ...
    public var details: [String: String]

    public init(
        reward: Double, status: RewardStatus = .ok, source: RewardSource = .rule,
        components: [String: Double] = [:], stepRewards: [Double]? = nil, details: [String: String] = [:]
    ) {
        self.reward = reward
        self.status = status
        self.source = source
        self.components = components
        self.stepRewards = stepRewards
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case reward, status, source, components, details
        case stepRewards = "step_rewards"
    }

    public static func error(_ message: String, source: RewardSource = .rule) -> RewardResult {
        RewardResult(reward: 0, status: .error, source: source, details: ["error": message])
    }
}

/// A learned scalar reward model: higher is better. Implementations: the OpenBLAS encoder + head
/// (`EnvrunRM`), a remote vLLM classifier, and in-memory fakes in tests.
public protocol ScalarRewardModel: Sendable {
    var name: String { get }
    func scores(prompts: [String], responses: [String]) async throws -> [Double]
}
