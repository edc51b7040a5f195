import EnvrunCore

/// Scores items through the Environment in input order. An environment that scores batches
/// (`BatchScoring`, e.g. `PackEnvironment`) gets them all at once, so the router sees each prompt's group
/// (spread escalation) and a reward model the whole batch; otherwise at most `limit` run at once. An
/// item's error (an unknown task, say) becomes its error result: the caller masks it, never scores it 0.
func scoreAll(_ env: any Environment, _ items: [ScoreItem], limit: Int) async -> [RewardResult] {
    if let batching = env as? any BatchScoring, items.count > 1 {
        return await batching.score(batch: items).map { r in
            switch r {
            case .success(let v): return v
            case .failure(let e): return RewardResult.error("\(e)")
            }
        }
    }
    return await boundedMap(items, limit: limit, cancelled: { _ in RewardResult.error("cancelled") }) { item in
        do { return try await env.score(item) } catch { return RewardResult.error("\(error)") }
    }
}
