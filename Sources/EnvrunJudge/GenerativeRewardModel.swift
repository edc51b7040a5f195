import EnvrunCore
import Foundation

/// A generative reward model in the form of DeepSeek-GRM: the judge LLM writes principles for the query,
/// a critique of each response and one 1–10 score per response; k samples (each with its own seed,
/// temperature and order of the responses) vote; an optional meta RM keeps only the best-rated samples;
/// an optional length penalty counters verbosity bias. Results are cached by everything that decides them.
public struct GenerativeRewardModel: Sendable {
    public let client: any ChatCompletionClient
    public let template: JudgeTemplate
    /// Rates a sample's principles and critique (prompt: the query; response: the sample's text).
    public let metaRM: (any ScalarRewardModel)?
    public let cache: JudgeCache?
    public let metrics: JudgeMetrics
    /// The judge's configured name (`default`, …), for results and metrics.
    public let judgeName: String
    /// Responses one prompt may hold; larger groups are the caller's to split.
    public static let maxResponses = 16
    /// Bytes of the query or of one response a judge prompt takes (64 KiB ≈ 16k tokens).
    public static let maxTextBytes = 64 * 1024

    public init(
        client: any ChatCompletionClient, template: JudgeTemplate, judgeName: String = "default",
        metaRM: (any ScalarRewardModel)? = nil, cache: JudgeCache? = JudgeCache(), metrics: JudgeMetrics = JudgeMetrics()
    ) {
        self.client = client
        self.template = template
        self.judgeName = judgeName
        self.metaRM = metaRM
        self.cache = cache
        self.metrics = metrics
    }

    public func score(query: String, responses: [String], settings: GRMSettings = GRMSettings()) async -> GRMResult {
        var result = GRMResult(
            status: .error, votes: [], means: [], ties: [], samples: [], voters: 0, judge: "\(judgeName):\(client.model)",
            template: template.id)
        guard !responses.isEmpty, responses.count <= Self.maxResponses else {
            result.error = "a judge prompt holds 1 to \(Self.maxResponses) responses (got \(responses.count))"
            return result
        }
        if let long = ([query] + responses).firstIndex(where: { $0.utf8.count > Self.maxTextBytes }) {
            // Sent anyway it would be refused by the judge's context limit after a full upload, or crowd out
            // the others in a joint prompt; refused here it costs nothing and blames only this text.
            let what = long == 0 ? "the query" : "response \(long)"
            result.error = "\(what) is \(([query] + responses)[long].utf8.count) bytes, over the judge input limit of \(Self.maxTextBytes)"
            return result
        }
        guard settings.samples >= 1, settings.samples <= 64 else {
            result.error = "samples must be 1 to 64 (got \(settings.samples))"
            return result
        }
        let key = JudgeCache.Key(
            judge: result.judge, template: template, query: query, responses: responses, settings: settings,
            metaRM: metaRM?.name)
        if let cache {
            if var hit = await cache.get(key) {
                metrics.cache(hit: true)
                hit.cached = true
                return hit
            }
            metrics.cache(hit: false)
        }
        let samples = await drawSamples(query: query, responses: responses, settings: settings)
        result.samples = samples
        if Task.isCancelled {
            result.error = "the request was cancelled"
            return result
        }
        let valid = samples.filter { $0.scores != nil }
        guard valid.count >= settings.requiredValid else {
            let reasons = Set(samples.compactMap(\.error)).sorted().prefix(3).joined(separator: "; ")
            result.error = "\(valid.count) of \(settings.samples) judge samples gave well-formed scores "
                + "(\(settings.requiredValid) needed): \(reasons)"
            return result
        }
        var voting = Set(valid.map(\.index))
        if let metaRM, valid.count > 1 {
            let texts = valid.map { s in
                "Specific Criteria: \(s.principles ?? "")\nAnalysis: " + (ScoreParser.section(s.text, "Analysis:", until: "Scores") ?? s.text)
            }
            do {
                let ratings = try await metaRM.scores(prompts: Array(repeating: query, count: valid.count), responses: texts)
                guard ratings.count == valid.count, ratings.allSatisfy(\.isFinite) else {
                    throw EnvrunError(.internal, "meta RM returned \(ratings.count) ratings for \(valid.count) samples")
                }
                for (s, r) in zip(valid, ratings) { result.samples[s.index].metaScore = r }
                let keep = settings.metaKeep(valid: valid.count)
                let ranked = zip(valid, ratings).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.index < $1.0.index }
                voting = Set(ranked.prefix(keep).map(\.0.index))
            } catch {
                result.error = "the meta RM failed: \(error)"
                return result
            }
        }
        for i in result.samples.indices { result.samples[i].voted = voting.contains(result.samples[i].index) }
        let voters = result.samples.filter(\.voted)
        var means = (0..<responses.count).map { r in
            Double(voters.reduce(0) { $0 + $1.scores![r] }) / Double(voters.count)
        }
        if settings.lengthPenalty > 0 {
            let lengths = responses.map { Double($0.count) }
            let median = max(1, lengths.sorted()[lengths.count / 2])
            for r in means.indices { means[r] -= settings.lengthPenalty * max(0, lengths[r] / median - 1) }
        }
        result.means = means
        result.votes = means.map { $0 * Double(voters.count) }
        result.voters = voters.count
        let best = result.votes.max() ?? 0
        let top = result.votes.indices.filter { abs(result.votes[$0] - best) < 1e-9 }
        result.ties = top.count > 1 ? top : []
        result.status = .ok
        await cache?.put(key, result)
        return result
    }

    /// The k samples, in parallel: each its own seed and shuffle; a malformed output is asked again.
    func drawSamples(query: String, responses: [String], settings: GRMSettings) async -> [GRMSample] {
        let n = responses.count
        if client.honoursN, settings.samples > 1, !settings.shuffle || n == 1,
            let drawn = await drawWithN(query: query, responses: responses, settings: settings)
        {
            return drawn
        }
        // Balanced shuffles: every n samples share one random base order, rotated by one position per
        // sample, so when n divides k each response is shown at each position equally often and a judge's
        // position bias cancels exactly instead of only on average.
        let orders: [[Int]] = (0..<settings.samples).map { j in
            guard settings.shuffle, n > 1 else { return Array(0..<n) }
            var rng = SplitMix64(seed: settings.seed &+ UInt64(j / n) &* 0x9E37_79B9)
            var base = Array(0..<n)
            rng.shuffle(&base)
            return (0..<n).map { base[($0 + j) % n] }
        }
        return await withTaskGroup(of: GRMSample.self) { group in
            for j in 0..<settings.samples {
                group.addTask {
                    await sample(j, order: orders[j], query: query, responses: responses, settings: settings)
                }
            }
            var out: [GRMSample] = []
            for await s in group { out.append(s) }
            return out.sorted { $0.index < $1.index }
        }
    }

    func sample(_ j: Int, order: [Int], query: String, responses: [String], settings: GRMSettings) async -> GRMSample {
        let n = responses.count
        let messages = Self.withHint(
            template.messages(query: query, responses: order.map { responses[$0] }), best: settings.hintBest, order: order)
        let constraint = constraint(count: n, settings: settings)
        let seed = settings.seed &+ UInt64(j)
        var s = GRMSample(
            index: j, order: order, seed: seed, temperature: settings.effectiveTemperature, text: "", attempts: 0,
            voted: false, judgeMs: 0)
        let start = ContinuousClock.now
        for attempt in 0...max(0, settings.formatRetries) {
            if Task.isCancelled {
                s.error = "cancelled"
                break
            }
            s.attempts = attempt + 1
            // A retry of a malformed output must not replay the same greedy text: it gets a new seed and,
            // when the sample was greedy, a little temperature.
            let request = ChatRequest(
                messages: messages,
                temperature: attempt == 0 ? settings.effectiveTemperature : max(settings.effectiveTemperature, 0.3),
                seed: seed &+ UInt64(attempt) &* 1_000_003, maxTokens: settings.maxTokens, n: 1, constraint: constraint)
            let choices: [ChatChoice]
            do { choices = try await call(request) } catch {
                s.error = "judge call failed: \(error.message.prefix(300))"
                break  // the client already retried what a retry can fix
            }
            if read(choices[0], into: &s, count: n, quoted: [query] + responses) { break }
        }
        s.judgeMs = (ContinuousClock.now - start).milliseconds
        return s
    }

    /// The template's grammar and regex for `n` scores, when constrained decoding is on.
    func constraint(count n: Int, settings: GRMSettings) -> OutputConstraint? {
        guard settings.constrain else { return nil }
        let c = OutputConstraint(grammar: template.grammar(count: n), regex: template.regex(count: n))
        return c.grammar == nil && c.regex == nil ? nil : c
    }

    /// One judge call, counted by outcome and timed.
    func call(_ request: ChatRequest) async throws(JudgeError) -> [ChatChoice] {
        let start = ContinuousClock.now
        do {
            let choices = try await client.complete(request)
            metrics.call(judge: judgeName, outcome: "ok", duration: ContinuousClock.now - start)
            return choices
        } catch {
            metrics.call(judge: judgeName, outcome: error.code.name, duration: ContinuousClock.now - start)
            throw error
        }
    }

    /// SPCT's hinted sampling: the last message says which response, as shown, is the best one.
    static func withHint(_ messages: [ChatMessage], best: Int?, order: [Int]) -> [ChatMessage] {
        guard let best, let shown = order.firstIndex(of: best), var last = messages.last else { return messages }
        var out = messages
        last.content += "\n\nHint: Response \(shown + 1) is the best response; explain why in your analysis and score accordingly."
        out[out.count - 1] = last
        return out
    }

    /// Parses one output into the sample (scores mapped back to input order); false when malformed.
    /// `quoted`: the query and responses shown, so a box the judge quotes from them is not its verdict.
    func read(_ choice: ChatChoice, into s: inout GRMSample, count n: Int, quoted: [String]) -> Bool {
        s.text = String(choice.text.prefix(8000))
        switch ScoreParser.parse(choice.text, count: n, finishReason: choice.finishReason, quoted: quoted) {
        case .success(let parsed):
            var scores = [Int](repeating: 0, count: n)
            for (p, input) in s.order.enumerated() { scores[input] = parsed.scores[p] }
            s.scores = scores
            s.principles = parsed.principles
            s.error = nil
            return true
        case .failure(let failure):
            metrics.malformed(judge: judgeName, kind: failure.kind.rawValue)
            s.error = "malformed judge output: \(failure.message)"
            return false
        }
    }

    /// A server that honours `n` draws all k samples of one order in one request; samples it left
    /// malformed (or did not return) are drawn again one by one.
    func drawWithN(query: String, responses: [String], settings: GRMSettings) async -> [GRMSample]? {
        let n = responses.count
        let order = Array(0..<n)
        let constraint = constraint(count: n, settings: settings)
        let request = ChatRequest(
            messages: Self.withHint(template.messages(query: query, responses: responses), best: settings.hintBest, order: order),
            temperature: settings.effectiveTemperature,
            seed: settings.seed, maxTokens: settings.maxTokens, n: settings.samples, constraint: constraint)
        let start = ContinuousClock.now
        guard let choices = try? await call(request) else { return nil }
        let ms = (ContinuousClock.now - start).milliseconds
        var out: [GRMSample] = []
        for j in 0..<settings.samples {
            var s = GRMSample(
                index: j, order: order, seed: settings.seed, temperature: settings.effectiveTemperature, text: "",
                attempts: 1, voted: false, judgeMs: ms)
            if j < choices.count, read(choices[j], into: &s, count: n, quoted: [query] + responses) {
                out.append(s)
            } else {
                var again = settings
                again.formatRetries = max(0, settings.formatRetries - 1)
                out.append(await sample(j, order: order, query: query, responses: responses, settings: again))
                out[j].attempts += 1
            }
        }
        return out
    }
}
