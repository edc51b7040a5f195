import EnvrunCore
import Foundation

/// The tasks of a `grm_rule` pack: one judge prompt per preference pair, the two responses in a seeded
/// order, and where the labelled best one is shown (`metadata.grm_best`, 1-based).
public enum GRMRulePack {
    public static func tasks(
        _ pairs: [(prompt: String, chosen: String, rejected: String)], template: JudgeTemplate, seed: UInt64
    ) -> [TaskSpec] {
        var rng = SplitMix64(seed: seed)
        return pairs.enumerated().map { i, pair in
            let chosenFirst = rng.next() & 1 == 0
            let shown = chosenFirst ? [pair.chosen, pair.rejected] : [pair.rejected, pair.chosen]
            let prompt = template.messages(query: pair.prompt, responses: shown).map(\.content).joined(separator: "\n\n")
            return TaskSpec(
                id: String(format: "pair-%04d", i), prompt: prompt,
                metadata: ["grm_best": chosenFirst ? "1" : "2", "grm_count": "2", "template": template.id])
        }
    }
}
