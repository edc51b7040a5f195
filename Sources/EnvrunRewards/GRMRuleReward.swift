import EnvrunCore
import EnvrunJudge

/// `grm_rule`: SPCT's rule-based online RL reward for training a generative RM. The policy *is* the judge:
/// its response is a judge output (principles, critiques, `Scores: \boxed{…}`) for the responses shown in the
/// task's prompt; the task's `metadata.grm_best` (1-based, in the order shown) names the labelled best one
/// and `metadata.grm_count` how many were shown. Reward +1 when the scores single out the labelled best (it
/// alone has the highest score), −1 otherwise. A malformed output (no box, a wrong count, a score out of
/// range) is −1 with status `ok`: that is the judge's own fault, and the signal it must learn from. A task
/// without the labels is an `error` naming the field (the pack is broken, not the policy).
public struct GRMRuleReward: Rewarder {
    public init() {}

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        guard let countText = task.metadata?["grm_count"], let count = Int(countText),
              (2...GenerativeRewardModel.maxResponses).contains(count)
        else {
            // One response cannot be singled out among others: any score would earn +1.
            return .error("task \(task.id): metadata.grm_count must be 2 to \(GenerativeRewardModel.maxResponses)")
        }
        guard let bestText = task.metadata?["grm_best"], let best = Int(bestText), (1...count).contains(best) else {
            return .error("task \(task.id): metadata.grm_best must be 1 to \(count) (the labelled best response, as shown)")
        }
        switch ScoreParser.parse(response, count: count) {
        case .failure(let failure):
            return RewardResult(
                reward: -1, components: ["singles_out_best": 0, "well_formed": 0],
                details: ["verdict": "malformed", "malformed": failure.kind.rawValue, "feedback": failure.message])
        case .success(let parsed):
            let top = parsed.scores.max()!
            let winners = parsed.scores.indices.filter { parsed.scores[$0] == top }
            let right = winners == [best - 1]
            var details = [
                // Not the index of the best response: details reach the policy, which could then read the label.
                "verdict": right ? "correct" : "wrong", "scores": parsed.scores.map(String.init).joined(separator: ","),
            ]
            if winners.count > 1 { details["tied"] = winners.map { String($0 + 1) }.joined(separator: ",") }
            return RewardResult(
                reward: right ? 1 : -1, components: ["singles_out_best": right ? 1 : 0, "well_formed": 1], details: details)
        }
    }
}
