import CoreMetrics
import EnvrunCore

/// The judge's metrics, through swift-metrics into whatever factory the caller passes (the server's
/// Prometheus registry); with none they go nowhere. Label values are ours and bounded: judge names come
/// from configuration, outcomes and malformation kinds are fixed sets.
public struct JudgeMetrics: Sendable {
    let factory: (any MetricsFactory)?

    public init(factory: (any MetricsFactory)? = nil) { self.factory = factory }

    func cache(hit: Bool) {
        guard let factory else { return }
        Counter(label: "envrun_judge_cache_total", dimensions: [("result", hit ? "hit" : "miss")], factory: factory)
            .increment()
    }

    func call(judge: String, outcome: String, duration: Duration) {
        guard let factory else { return }
        Counter(label: "envrun_judge_calls_total", dimensions: [("judge", judge), ("outcome", outcome)], factory: factory)
            .increment()
        if outcome == "ok" {
            Timer(label: "envrun_judge_call_seconds", dimensions: [("judge", judge)], factory: factory)
                .recordNanoseconds(duration.nanoseconds)
        }
    }

    func malformed(judge: String, kind: String) {
        guard let factory else { return }
        Counter(label: "envrun_judge_malformed_total", dimensions: [("judge", judge), ("kind", kind)], factory: factory)
            .increment()
    }
}
