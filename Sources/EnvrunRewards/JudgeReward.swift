import EnvrunCore
import EnvrunJudge
import Foundation

/// `generative_rm`: an LLM judge scores the responses in DeepSeek-GRM's form, one response per judge prompt
/// by default; with `joint`, items of a batch with the same task and prompt (a GRPO group) are judged
/// together, up to `GenerativeRewardModel.maxResponses` per prompt; the reward is the voted mean mapped onto
/// [0, 1], (mean − 1) / 9. A judge that fails, is not configured or writes no usable scores gives status
/// `error` with the reason and the judge's text — never a reward. Source `generative_rm`.
public struct GenerativeRMReward: Rewarder {
    public let settings: GenerativeRMSettings?
    let judges: JudgePool
    let models: ScalarRMCache
    let template: Result<JudgeTemplate, EnvrunError>

    /// Each sample's text kept in a result's `samples` detail (the full text is in `grm score --json`).
    static let sampleTextChars = 2000

    public init(settings: GenerativeRMSettings?, judges: JudgePool, models: ScalarRMCache) {
        self.settings = settings
        self.judges = judges
        self.models = models
        if let loaded = settings?.template {
            template = .success(loaded)
        } else {
            let reference = settings?.templateReference ?? JudgeTemplate.defaultName
            do {
                template = .success(try JudgeTemplate.load(reference))
            } catch let error as EnvrunError {
                template = .failure(error)
            } catch {
                template = .failure(EnvrunError(.invalidInput, "\(error)", field: "template"))
            }
        }
    }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        await score(batch: [(task, response)])[0]
    }

    public func score(batch: [(task: TaskSpec, response: String)]) async -> [RewardResult] {
        guard !batch.isEmpty else { return [] }
        let model: GenerativeRewardModel
        switch await self.model() {
        case .success(let m): model = m
        case .failure(let error):
            return Array(repeating: .error("generative reward model unavailable: \(error.message)", source: .generativeRM),
                         count: batch.count)
        }
        let sampling = settings?.sampling ?? GRMSettings()
        let chunks = settings?.joint == true ? Self.groups(batch) : batch.indices.map { [$0] }
        let scored = await boundedMap(chunks, cancelled: { chunk in chunk.map { _ in RewardResult.cancelledRequest } }) {
            chunk in
            let task = batch[chunk[0]].task
            let result = await model.score(query: task.prompt, responses: chunk.map { batch[$0].response }, settings: sampling)
            return chunk.indices.map { Self.reward(result, position: $0, groupSize: chunk.count) }
        }
        var out = Array(repeating: RewardResult.cancelledRequest, count: batch.count)
        for (chunk, results) in zip(chunks, scored) {
            for (index, result) in zip(chunk, results) { out[index] = result }
        }
        return out
    }

    func model() async -> Result<GenerativeRewardModel, EnvrunError> {
        guard let settings else {
            return .failure(EnvrunError(.invalidInput, "the pack sets no reward.judge", field: "judge"))
        }
        let template: JudgeTemplate
        switch self.template {
        case .success(let t): template = t
        case .failure(let error): return .failure(error)
        }
        var metaRM: (any ScalarRewardModel)?
        if let reference = settings.metaModel {
            switch await models.model(reference) {
            case .success(let m): metaRM = m
            case .failure(let error):
                return .failure(EnvrunError(.unavailable, "meta reward model: \(error.message)", field: "meta_model"))
            }
        }
        return judges.model(judge: settings.judge, template: template, metaRM: metaRM)
    }

    /// The router's GRPO groups (same task id and prompt), each cut into chunks a judge prompt can hold.
    static func groups(_ batch: [(task: TaskSpec, response: String)]) -> [[Int]] {
        let size = GenerativeRewardModel.maxResponses
        return RewardRouter.groups(Array(batch.indices), batch).flatMap { all in
            stride(from: 0, to: all.count, by: size).map { Array(all[$0..<min($0 + size, all.count)]) }
        }
    }

    /// The reward of the response at `position` of a judged group.
    static func reward(_ result: GRMResult, position i: Int, groupSize: Int) -> RewardResult {
        var details: [String: String] = [
            "judge": result.judge, "template": result.template, "group_size": "\(groupSize)",
            "samples": samplesDetail(result.samples),
        ]
        guard result.status == .ok, i < result.means.count, i < result.votes.count else {
            var r = RewardResult.error(
                "the judge gave no usable scores: \(result.error ?? "no result")", source: .generativeRM)
            r.details.merge(details) { old, _ in old }
            r.details["error_code"] = "judge"
            return r
        }
        details["voters"] = "\(result.voters)"
        if result.cached { details["cached"] = "true" }
        if result.ties.count > 1 && result.ties.contains(i) {
            details["ties"] = result.ties.map(String.init).joined(separator: ",")
        }
        return RewardResult(
            reward: result.normalized(i), source: .generativeRM,
            components: ["grm_mean": result.means[i], "grm_votes": result.votes[i]], details: details)
    }

    /// The samples as JSON, each text cut to `sampleTextChars`: what the judge wrote stays inspectable.
    /// At most this many bytes of samples detail per result, whatever k and the judge's verbosity.
    static let samplesDetailBytes = 32 * 1024

    static func samplesDetail(_ samples: [GRMSample]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var limit = sampleTextChars
        while true {
            let cut = samples.map { s -> GRMSample in
                var s = s
                if s.text.count > limit { s.text = String(s.text.prefix(limit)) + "…" }
                if let p = s.principles, p.count > limit { s.principles = String(p.prefix(limit)) + "…" }
                return s
            }
            guard let data = try? encoder.encode(cut) else { return "[]" }
            if data.count <= samplesDetailBytes || limit == 0 { return String(decoding: data, as: UTF8.self) }
            limit = limit > 64 ? limit / 2 : 0
        }
    }
}
