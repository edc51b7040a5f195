import EnvrunCore
import Foundation
import Synchronization

/// `envrun bench grm`: what envrun itself costs per generative-RM scoring, beside what the judge costs.
/// Three rows measured in one run: an in-process judge that answers at once (all the time is envrun's:
/// the prompt, the shuffles, parsing, voting, the cache key), a cache hit, and — with a real judge — the
/// whole call split into time inside the HTTP call and envrun's time outside it.
public enum GRMBench {
    public struct Row: Sendable, Codable, Equatable {
        public var name: String
        public var calls: Int
        /// Median of one `score(…)` call, ms.
        public var medianMs: Double
        /// Median time inside the judge client (the HTTP call, or nothing for the in-process judge), ms.
        public var judgeMs: Double
        /// medianMs − judgeMs: envrun's own cost per scoring, ms.
        public var envrunMs: Double

        enum CodingKeys: String, CodingKey {
            case name, calls
            case medianMs = "median_ms"
            case judgeMs = "judge_ms"
            case envrunMs = "envrun_ms"
        }
    }

    public struct Options: Sendable {
        public var responses = 4
        public var samples = 4
        public var calls = 200
        /// Calls to the real judge (slow: each is a generation).
        public var judgeCalls = 5
        public var maxTokens = 256
        public init() {}
    }

    /// A judge in process that answers every prompt at once with a well-formed verdict.
    public struct InstantJudge: ChatCompletionClient {
        public let model = "instant"
        public let honoursN = false
        let count: Int
        public init(count: Int) { self.count = count }
        public func complete(_ request: ChatRequest) async throws(JudgeError) -> [ChatChoice] {
            let scores = (0..<count).map { String(($0 * 3) % 10 + 1) }.joined(separator: ", ")
            let text = "Specific Criteria: helpfulness (60%), accuracy (40%).\n"
                + "Analysis: Response 1 is direct; the others wander.\nScores: \\boxed{\(scores)}"
            return [ChatChoice(text: text, finishReason: "stop")]
        }
    }

    /// Wraps a client and records when calls were in flight: `take()` is the time during which at least
    /// one call was (samples run in parallel, so the union, not the sum, is the judge's share of the wall).
    final class Timed: ChatCompletionClient {
        let inner: any ChatCompletionClient
        let intervals = Mutex<[(ContinuousClock.Instant, ContinuousClock.Instant)]>([])
        var model: String { inner.model }
        var honoursN: Bool { inner.honoursN }
        init(_ inner: any ChatCompletionClient) { self.inner = inner }
        func complete(_ request: ChatRequest) async throws(JudgeError) -> [ChatChoice] {
            let start = ContinuousClock.now
            defer {
                let end = ContinuousClock.now
                intervals.withLock { $0.append((start, end)) }
            }
            return try await inner.complete(request)
        }
        func take() -> Duration {
            Self.union(intervals.withLock { list in
                defer { list = [] }
                return list
            })
        }

        /// The length of time covered by at least one interval.
        static func union(_ intervals: [(ContinuousClock.Instant, ContinuousClock.Instant)]) -> Duration {
            var covered = Duration.zero
            var current: (ContinuousClock.Instant, ContinuousClock.Instant)?
            for (a, b) in intervals.sorted(by: { $0.0 < $1.0 }) {
                if let (ca, cb) = current, a <= cb {
                    current = (ca, max(cb, b))
                } else {
                    if let (ca, cb) = current { covered += cb - ca }
                    current = (a, b)
                }
            }
            if let (ca, cb) = current { covered += cb - ca }
            return covered
        }
    }

    public static func run(
        options: Options, template: JudgeTemplate, judge: (any ChatCompletionClient)? = nil,
        progress: @Sendable (String) -> Void = { _ in }
    ) async -> (rows: [Row], failures: Int) {
        let query = "How do I keep basil alive indoors? I keep killing it."
        let responses = (0..<options.responses).map { i in
            "Response \(i + 1): " + String(repeating: "Water when the top inch of soil is dry, give it sun. ", count: 4 + i)
        }
        var settings = GRMSettings(samples: options.samples)
        settings.maxTokens = options.maxTokens
        var rows: [Row] = []
        var failures = 0

        progress("in-process judge: \(options.calls) scorings of \(options.responses) responses × \(options.samples) samples")
        let instant = Timed(InstantJudge(count: options.responses))
        let uncached = GenerativeRewardModel(client: instant, template: template, cache: nil)
        var total: [Double] = [], inside: [Double] = []
        for i in 0..<options.calls {
            settings.seed = UInt64(i)
            let start = ContinuousClock.now
            let r = await uncached.score(query: query, responses: responses, settings: settings)
            total.append((ContinuousClock.now - start).milliseconds)
            inside.append(instant.take().milliseconds)
            if r.status != .ok { failures += 1 }
        }
        rows.append(row("envrun, in-process judge", total, inside))

        let cached = GenerativeRewardModel(client: instant, template: template, cache: JudgeCache())
        settings.seed = 0
        _ = await cached.score(query: query, responses: responses, settings: settings)
        _ = instant.take()
        total = []
        inside = []
        for _ in 0..<options.calls {
            let start = ContinuousClock.now
            let r = await cached.score(query: query, responses: responses, settings: settings)
            total.append((ContinuousClock.now - start).milliseconds)
            inside.append(instant.take().milliseconds)
            if !r.cached { failures += 1 }
        }
        rows.append(row("cache hit", total, inside))

        if let judge {
            let timed = Timed(judge)
            let real = GenerativeRewardModel(client: timed, template: template, cache: nil)
            total = []
            inside = []
            for i in 0..<options.judgeCalls {
                progress("real judge \(judge.model): call \(i + 1)/\(options.judgeCalls)")
                settings.seed = UInt64(1000 + i)
                let start = ContinuousClock.now
                let r = await real.score(query: query, responses: responses, settings: settings)
                total.append((ContinuousClock.now - start).milliseconds)
                inside.append(timed.take().milliseconds)
                if r.status != .ok { failures += 1 }
            }
            rows.append(row("real judge \(judge.model)", total, inside))
        }
        return (rows, failures)
    }

    /// Medians of the wall time and of the judge's share, and of envrun's share call by call.
    static func row(_ name: String, _ total: [Double], _ inside: [Double]) -> Row {
        Row(name: name, calls: total.count, medianMs: median(total), judgeMs: median(inside),
            envrunMs: median(zip(total, inside).map { max(0, $0 - $1) }))
    }

    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public static func render(_ rows: [Row]) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        let width = max(28, (rows.map(\.name.count).max() ?? 0) + 2)
        var lines = [pad("row", width) + "  calls   median ms    judge ms   envrun ms"]
        for r in rows {
            lines.append(pad(r.name, width) + String(format: " %6d %11.3f %11.3f %11.3f", r.calls, r.medianMs, r.judgeMs, r.envrunMs))
        }
        if let instant = rows.first, let hit = rows.dropFirst().first {
            lines.append(String(format: "cache hit / uncached envrun cost: %.3f (target: envrun ≤ 1 ms per scoring)",
                                hit.medianMs / max(instant.envrunMs, 1e-9)))
        }
        if rows.count > 2, let real = rows.last {
            lines.append(String(format: "envrun / judge time with the real judge: %.2g", real.envrunMs / max(real.judgeMs, 1e-9)))
        }
        return lines.joined(separator: "\n")
    }
}
