import EnvrunCore
import EnvrunJudge
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
    /// Items of the batch scored `ScoringContext.itemConcurrency` at a time; once the request is
    /// cancelled the rest are not started.
    public func score(batch: [(task: TaskSpec, response: String)]) async -> [RewardResult] {
        let items = batch.map { BatchItem(task: $0.task, response: $0.response) }
        let observer = ScoringContext.observer
        return await boundedMap(items, cancelled: { _ in .cancelledRequest }) { item in
            let start = ContinuousClock.now
            let result = await self.score(task: item.task, response: item.response)
            observer?.observe(result, ContinuousClock.now - start)
            return result
        }
    }
}

private struct BatchItem: Sendable {
    let task: TaskSpec
    let response: String
}

extension RewardResult {
    /// An item never started because its request was cancelled (the client left). Nobody reads it.
    public static var cancelledRequest: RewardResult {
        var r = RewardResult.error("the request was cancelled before this item was scored")
        r.details["error_code"] = "cancelled"
        return r
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
    /// The judges `generative_rm` and `hybrid` packs name; empty => their judge answers status `error`.
    public var judges: JudgePool
    public var logger: Logger

    public init(
        codeJudge: (any CodeJudge)? = nil, scalarRMFactory: ScalarRMFactory? = nil,
        mathOptions: VerifyOptions = VerifyOptions(),
        mathCheck: @escaping MathCheck = { gold, response, options in
            MathVerifier(options: options).verify(gold: gold, pred: response)
        },
        judges: JudgePool = .empty,
        logger: Logger = Logger(label: "envrun.rewards")
    ) {
        self.codeJudge = codeJudge
        self.scalarRMFactory = scalarRMFactory
        self.mathOptions = mathOptions
        self.mathCheck = mathCheck
        self.judges = judges
        self.logger = logger
    }
}

/// Builds the rewarder a spec names: the pack's source behind a `RewardRouter`, so a task's own `route`
/// can send it elsewhere and every result says which source answered. Scalar RMs are loaded lazily, once
/// per model, through `models`; judges come from `dependencies.judges`.
public enum RewarderFactory {
    public static func make(
        spec: RewardSpec, dependencies: RewardDependencies, models: ScalarRMCache
    ) -> any Rewarder {
        let ruleKind: VerifierKind = [.math, .exact, .regex, .grmRule].contains(spec.verifier) ? spec.verifier : spec.hybridRule
        let packRoute: RouteKind
        switch spec.verifier {
        case .math, .exact, .regex, .grmRule, .codeTests, .codeIO: packRoute = .rule
        case .scalarRM: packRoute = .scalarRM
        case .generativeRM: packRoute = .generativeRM
        case .hybrid: packRoute = .hybrid
        }
        return RewardRouter(
            packRoute: packRoute, rule: rule(ruleKind, spec: spec, dependencies: dependencies),
            code: CodeReward(judge: dependencies.codeJudge, settings: spec.code, logger: dependencies.logger),
            scalar: spec.scalarRM.map { ScalarRMReward(settings: $0, models: models) },
            judge: spec.generativeRM.map { GenerativeRMReward(settings: $0, judges: dependencies.judges, models: models) },
            settings: spec.route, ruleIsCode: spec.verifier.isCode)
    }

    static func rule(_ kind: VerifierKind, spec: RewardSpec, dependencies: RewardDependencies) -> any Rewarder {
        switch kind {
        case .exact: return ExactReward(settings: spec.exact)
        case .regex: return RegexReward(settings: spec.regex)
        case .grmRule: return GRMRuleReward()
        default:
            return MathReward(
                options: spec.math ?? dependencies.mathOptions, check: dependencies.mathCheck, steps: spec.mathSteps)
        }
    }
}
