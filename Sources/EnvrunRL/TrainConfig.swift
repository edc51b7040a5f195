import Foundation

/// Which signal the advantages come from.
public enum Supervision: String, Sendable, Codable, CaseIterable {
    /// One score per response (the Environment's reward), the same advantage on every token.
    case outcome
    /// The Environment's step rewards, DeepSeekMath-style per-token advantages.
    case process
}

/// Everything that defines a training run; saved as `config.json` in the run directory, so a resume uses
/// exactly the settings the run started with.
public struct TrainConfig: Sendable, Codable, Equatable {
    public var pack = "addition"
    public var seed: UInt64 = 1
    /// The last `evalTasks` tasks of the pack are held out; the rest are the training split.
    public var evalTasks = 1000
    public var evalEvery = 10

    // The tiny policy.
    public var dModel = 64
    public var heads = 4
    public var layers = 2

    // Supervised warm-up: stops at the first evaluation at or above `warmupUntil` (or after `warmupMaxSteps`).
    public var warmupUntil = 0.4
    public var warmupMaxSteps = 3000
    public var warmupBatch = 64
    public var warmupLearningRate = 1e-3
    public var warmupEvalEvery = 25

    // GRPO.
    public var steps = 300
    public var promptsPerStep = 32
    public var groupSize = 8
    public var learningRate = 3e-4
    public var supervision = Supervision.outcome
    public var convention = AdvantageConvention.verl
    public var loss = LossSettings()
    public var miniBatches = 2
    public var epochs = 1
    public var dropZeroVarianceGroups = false
    /// γ of the per-token shaping (1: the sparse reward at the last token, spread unchanged).
    public var discount = 1.0
    /// Stop when the run's wall time passes this (0: no limit). Not deterministic; the resume test uses steps.
    public var maxMinutes = 0.0
    /// Stop early once an evaluation reaches this held-out exact match (0: never).
    public var stopAt = 0.0
    public var checkpointEvery = 25
    public var scoreConcurrency = 8
    public var blasThreads = 1

    public init() {}
}
