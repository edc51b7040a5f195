import EnvrunCore
import Logging

/// Scores a batch of items against an `Environment`, in order, a few at a time. Per-item failures
/// (unknown pack or task, a thrown error) become that item's `RewardResult` with status `error`; the
/// rest are still scored. The HTTP routes and the in-process side of `envrun bench serve` both use it,
/// so the bench's ratio isolates the cost of HTTP.
public struct BatchScorer: Sendable {
    public let environment: any EnvrunCore.Environment
    public let concurrency: Int
    let metrics: ServerMetrics?
    let logger: Logger
    /// The packs the environment serves: the only pack names that become metric labels.
    let knownPacks: Set<String>

    public init(environment: any EnvrunCore.Environment, concurrency: Int, logger: Logger) {
        self.init(environment: environment, concurrency: concurrency, metrics: nil, logger: logger)
    }

    init(environment: any EnvrunCore.Environment, concurrency: Int, metrics: ServerMetrics?, logger: Logger) {
        self.environment = environment
        self.concurrency = max(1, concurrency)
        self.metrics = metrics
        self.logger = logger
        self.knownPacks = Set(environment.packs().map(\.name))
    }

    /// A pack's metric label: its name when served, else `unknown`, so names a client makes up do not
    /// each become a series.
    func packLabel(_ pack: String) -> String { knownPacks.contains(pack) ? pack : "unknown" }

    /// Every item's result, in order. At most `concurrency` items of the batch run at once, on the
    /// batch path too (a rewarder's batch loop reads `ScoringContext.itemConcurrency`); once the task is
    /// cancelled (the client left) items not yet started are skipped.
    public func score(_ items: [ScoreItem]) async -> [RewardResult] {
        let observer = metrics.map { metrics in
            ScoringObserver { result, duration in metrics.recordScoring(source: result.source.rawValue, duration) }
        }
        return await ScoringContext.$observer.withValue(observer) {
            await scoreBounded(items)
        }
    }

    private func scoreBounded(_ items: [ScoreItem]) async -> [RewardResult] {
        await ScoringContext.$itemConcurrency.withValue(concurrency) {
            if let batching = environment as? any BatchScoring, items.count > 1 {
                let outcomes = await batching.score(batch: items)
                return zip(items, outcomes).map { item, outcome in
                    let result: RewardResult
                    switch outcome {
                    case .success(let r):
                        result = r.reward.isFinite
                            ? r : .error("the reward source returned a non-finite reward", source: r.source)
                    case .failure(let error): result = Self.errorResult(error)
                    }
                    metrics?.recordReward(pack: packLabel(item.pack), result)
                    return result
                }
            }
            return await boundedMap(items, limit: concurrency, cancelled: { _ in .cancelledRequest }) { item in
                await scoreOne(item)
            }
        }
    }

    public func scoreOne(_ item: ScoreItem) async -> RewardResult {
        var result: RewardResult
        let start = ContinuousClock.now
        defer { metrics?.recordScoring(source: result.source.rawValue, ContinuousClock.now - start) }
        do {
            result = try await environment.score(item)
            if !result.reward.isFinite {
                result = .error("the reward source returned a non-finite reward", source: result.source)
            }
        } catch let error as EnvrunError {
            result = Self.errorResult(error)
        } catch {
            logger.error("scoring failed", metadata: ["pack": "\(item.pack)", "error": "\(error)"])
            result = .error("internal error while scoring: \(error)")
            result.details["error_code"] = EnvrunError.Code.internal.name
        }
        metrics?.recordReward(pack: packLabel(item.pack), result)
        return result
    }

    /// An item's own failure (unknown pack or task, bad inline task) as its result.
    static func errorResult(_ error: EnvrunError) -> RewardResult {
        var result = RewardResult.error(error.message)
        result.details["error_code"] = error.code.name
        if let field = error.field { result.details["field"] = field }
        return result
    }
}

