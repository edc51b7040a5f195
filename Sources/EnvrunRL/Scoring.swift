import EnvrunCore

/// Scores items through the Environment, at most `limit` at once, in input order. A thrown error (an
/// unknown task, say) becomes that item's error result: the caller masks it, never scores it 0.
func scoreAll(_ env: any Environment, _ items: [ScoreItem], limit: Int) async -> [RewardResult] {
    await boundedMap(items, limit: limit, cancelled: { _ in RewardResult.error("cancelled") }) { item in
        do { return try await env.score(item) } catch { return RewardResult.error("\(error)") }
    }
}
