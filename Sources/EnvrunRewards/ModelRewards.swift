import EnvrunCore
import Foundation

/// Loads each scalar RM once, on first use, and remembers a failed load so a missing model answers
/// status `error` quickly instead of retrying on every request (restart to pick up a fixed model).
public actor ScalarRMCache {
    typealias Loaded = Result<any ScalarRewardModel, EnvrunError>
    let factory: ScalarRMFactory?
    /// One load per reference, shared by concurrent first callers (models are big: load once).
    var loads: [String: Task<Loaded, Never>] = [:]

    public init(factory: ScalarRMFactory?) { self.factory = factory }

    public func model(_ reference: String) async -> Result<any ScalarRewardModel, EnvrunError> {
        if let load = loads[reference] { return await load.value }
        guard let factory else {
            return .failure(EnvrunError(.unavailable, "no scalar reward model backend is configured", field: "model"))
        }
        let load = Task<Loaded, Never> {
            do {
                return .success(try await factory(reference))
            } catch let error as EnvrunError {
                return .failure(error)
            } catch {
                return .failure(EnvrunError(.unavailable, "cannot load \(reference): \(error)", field: "model"))
            }
        }
        loads[reference] = load
        return await load.value
    }
}

/// `scalar_rm`: a learned reward model scores (prompt, response). Source `scalar_rm`.
public struct ScalarRMReward: Rewarder {
    public var settings: ScalarRMSettings?
    let models: ScalarRMCache

    public init(settings: ScalarRMSettings?, models: ScalarRMCache) {
        self.settings = settings
        self.models = models
    }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        await score(batch: [(task, response)])[0]
    }

    /// The whole batch goes through the model in one call (the encoder batches internally).
    public func score(batch: [(task: TaskSpec, response: String)]) async -> [RewardResult] {
        func failAll(_ message: String) -> [RewardResult] {
            Array(repeating: .error(message, source: .scalarRM), count: batch.count)
        }
        guard !batch.isEmpty else { return [] }
        guard let settings else { return failAll("the pack names no reward model") }
        let model: any ScalarRewardModel
        switch await models.model(settings.model) {
        case .success(let m): model = m
        case .failure(let error): return failAll("reward model unavailable: \(error.message)")
        }
        let scores: [Double]
        do {
            scores = try await model.scores(prompts: batch.map(\.task.prompt), responses: batch.map(\.response))
        } catch {
            return failAll("reward model failed: \(error)")
        }
        guard scores.count == batch.count else {
            return failAll("reward model returned \(scores.count) scores for \(batch.count) responses")
        }
        return scores.map { raw in
            guard raw.isFinite else { return .error("reward model returned \(raw)", source: .scalarRM) }
            let reward = settings.sigmoid ? 1 / (1 + exp(-raw)) : raw
            return RewardResult(
                reward: reward, source: .scalarRM, components: ["rm_score": raw], details: ["model": model.name])
        }
    }
}
