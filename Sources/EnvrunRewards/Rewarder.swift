import EnvrunCore
import EnvrunVerify
import Logging

/// One reward source: scores a response to a task. Never throws: a check that could not be made is a
/// `RewardResult` with status `error`, a task this source cannot score one with status `not_applicable`.
public protocol Rewarder: Sendable {
    func score(task: TaskSpec, response: String) async -> RewardResult
    /// Scores many responses; results are in input order. The default scores them concurrently, one by
    /// one; a reward model overrides it to run the whole batch through the model at once.
    func score(batch: [(task: TaskSpec, response: String)]) async -> [RewardResult]
}

extension Rewarder {
    public func score(batch: [(task: TaskSpec, response: String)]) async -> [RewardResult] {
        await withTaskGroup(of: (Int, RewardResult).self) { group in
            for (i, item) in batch.enumerated() {
                group.addTask { (i, await self.score(task: item.task, response: item.response)) }
            }
            var results = [RewardResult?](repeating: nil, count: batch.count)
            for await (i, r) in group { results[i] = r }
            return results.map { $0! }
        }
    }
}

/// Loads a scalar RM from the location a pack names (a head directory, a URL...).
public typealias ScalarRMFactory = @Sendable (_ model: String) async throws -> any ScalarRewardModel

/// Checks a math answer; the default is `EnvrunVerify.MathVerifier`. Tests may pass a fake.
public typealias MathCheck = @Sendable (_ gold: String, _ response: String, _ options: VerifyOptions) -> VerifyResult

/// What reward sources need from outside, injected so tests can use fakes.
public struct RewardDependencies: Sendable {
    /// The sandbox judge for code rewards; nil => code rewards answer status `error` ("no judge").
    public var codeJudge: (any CodeJudge)?
    /// Loads scalar RMs by the pack's `model` reference; nil => RM rewards answer status `error`.
    public var scalarRMFactory: ScalarRMFactory?
    /// Default math options; a pack's `reward.math` overrides the fields it sets.
    public var mathOptions: VerifyOptions
    public var mathCheck: MathCheck
    public var logger: Logger

    public init(
        codeJudge: (any CodeJudge)? = nil, scalarRMFactory: ScalarRMFactory? = nil,
        mathOptions: VerifyOptions = VerifyOptions(),
        mathCheck: @escaping MathCheck = { gold, response, options in
            MathVerifier(options: options).verify(gold: gold, pred: response)
        },
        logger: Logger = Logger(label: "envrun.rewards")
    ) {
        self.codeJudge = codeJudge
        self.scalarRMFactory = scalarRMFactory
        self.mathOptions = mathOptions
        self.mathCheck = mathCheck
        self.logger = logger
    }
}

/// Builds the rewarder a spec names. Scalar RMs are loaded lazily, once per model, through `models`.
public enum RewarderFactory {
    public static func make(
        spec: RewardSpec, dependencies: RewardDependencies, models: ScalarRMCache
    ) -> any Rewarder {
        switch spec.verifier {
        case .math:
            return MathReward(options: spec.math ?? dependencies.mathOptions, check: dependencies.mathCheck)
        case .exact:
            return ExactReward(settings: spec.exact)
        case .regex:
            return RegexReward(settings: spec.regex)
        case .codeTests, .codeIO:
            return CodeReward(judge: dependencies.codeJudge, settings: spec.code)
        case .scalarRM:
            return ScalarRMReward(settings: spec.scalarRM, models: models)
        case .generativeRM:
            return GenerativeRMReward()
        case .hybrid:
            var ruleSpec = spec
            ruleSpec.verifier = spec.hybridRule
            let rule = make(spec: ruleSpec, dependencies: dependencies, models: models)
            return HybridRouter(
                rule: rule, code: CodeReward(judge: dependencies.codeJudge, settings: spec.code),
                model: spec.scalarRM.map { ScalarRMReward(settings: $0, models: models) })
        }
    }
}
