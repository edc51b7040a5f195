import CoreMetrics
import EnvrunCore
import EnvrunTasks
import Metrics
import Prometheus
import Synchronization

/// The server's metrics, written through swift-metrics into one Prometheus registry that `GET /metrics`
/// renders. The registry is per application (no global bootstrap), so tests can build many apps.
///
/// Every label value is bounded: routes are templates, statuses and reward statuses are ours, methods
/// outside the common ones count as `OTHER`, packs the environment does not serve as `unknown` (the
/// caller maps them, `BatchScorer.packLabel`), and verdicts beyond the first `maxVerdictLabels`
/// distinct ones as `other` — so no client can grow the series count.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let state = State()
    static let maxVerdictLabels = 32
    static let routes: Set<String> = ["rule", "scalar_rm", "generative_rm", "hybrid", "none"]
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// What label values were seen and what the episode counters last read, behind one lock.
    private final class State: Sendable {
        struct Values {
            var verdicts: Set<String> = []
            var episodes = EpisodeCounts()
        }
        let values = Mutex(Values())
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
    }

    /// The factory over this registry, for other modules' metrics (the judges').
    public var metricsFactory: any MetricsFactory { factory }

    /// One finished HTTP request: counted by route, method and status; its latency by route.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "envrun_http_requests_total",
                dimensions: [("route", route), ("method", Self.methods.contains(method) ? method : "OTHER"),
                             ("status", String(status))],
                factory: factory).increment()
        Timer(label: "envrun_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// One scored item: its reward status per pack, and the program's verdict when there was one.
    /// `pack` must already be a bounded label (a served pack or `unknown`).
    func recordReward(pack: String, _ result: RewardResult) {
        // The source that answered, as the router wrote it in `route`; "none" when nothing was routed (an
        // unknown pack or task, a bad request item). A fixed set: never a client's text.
        let source = result.details["route"].flatMap { Self.routes.contains($0) ? $0 : nil } ?? "none"
        Counter(label: "envrun_rewards_total",
                dimensions: [("pack", pack), ("status", result.status.rawValue), ("source", source)],
                factory: factory).increment()
        if let verdict = result.details["verdict"] { recordVerdict(verdict) }
        if let step = result.details["sandbox_step"] { recordSandboxError(step: step) }
    }

    func recordVerdict(_ verdict: String) {
        let label = state.values.withLock { values in
            if values.verdicts.contains(verdict) { return verdict }
            guard values.verdicts.count < Self.maxVerdictLabels else { return "other" }
            values.verdicts.insert(verdict)
            return verdict
        }
        Counter(label: "envrun_verdicts_total", dimensions: [("verdict", label)], factory: factory).increment()
    }

    /// The episode store's counts, read when `/metrics` is rendered: gauges of open episodes and of
    /// clients holding one, and evictions by reason as counters (incremented by what is new since the
    /// last read).
    func recordEpisodes(_ counts: EpisodeCounts) {
        Gauge(label: "envrun_episodes_open", factory: factory).record(counts.open)
        Gauge(label: "envrun_episode_clients", factory: factory).record(counts.clients)
        // Two renders may read the store out of order: only a count above the highest seen is new.
        let new = state.values.withLock { values in
            func take(_ seen: inout Int, _ now: Int) -> Int {
                defer { seen = max(seen, now) }
                return max(0, now - seen)
            }
            return [
                ("client_quota", take(&values.episodes.evictedByClientQuota, counts.evictedByClientQuota)),
                ("capacity", take(&values.episodes.evictedByCapacity, counts.evictedByCapacity)),
                ("expired", take(&values.episodes.expired, counts.expired)),
            ]
        }
        for (reason, n) in new {
            Counter(label: "envrun_episodes_evicted_total", dimensions: [("reason", reason)], factory: factory)
                .increment(by: n)
        }
    }

    /// A program's run: its verdict, and for a `sandbox_error` the failing step (a fixed set of
    /// names from envrun's code, never the client's text) and how long the sandbox took to start.
    func recordExec(_ result: ExecResult) {
        recordVerdict(result.verdict.rawValue)
        if let failure = result.failure { recordSandboxError(step: failure.step) }
        if let startMs = result.startMs {
            Timer(label: "envrun_sandbox_start_seconds", factory: factory)
                .recordNanoseconds(Int64(startMs * 1_000_000))
        }
    }

    func recordSandboxError(step: String) {
        Counter(label: "envrun_sandbox_errors_total", dimensions: [("step", step)], factory: factory).increment()
    }

    /// Time a request waited for a work slot.
    func recordQueueWait(_ duration: Duration) {
        Timer(label: "envrun_queue_wait_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// Time one item took to score (rule checks, code judging, reward models), by the source that answered.
    func recordScoring(source: String, _ duration: Duration) {
        Timer(label: "envrun_score_item_seconds", dimensions: [("source", source)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// A connection the server closed: `body_timeout` (a body too slow to arrive).
    func recordDropped(_ reason: String) {
        Counter(label: "envrun_connections_dropped_total", dimensions: [("reason", reason)], factory: factory)
            .increment()
    }

    func recordRejected(route: String) {
        Counter(label: "envrun_rejected_total", dimensions: [("route", route)], factory: factory).increment()
    }

    /// Queue depth and pool use of the work limiter.
    func recordWork(_ snapshot: WorkLimiter.Snapshot) {
        Gauge(label: "envrun_work_in_flight", factory: factory).record(snapshot.inFlight)
        Gauge(label: "envrun_work_queue_depth", factory: factory).record(snapshot.queued)
        Gauge(label: "envrun_work_slots", factory: factory).record(snapshot.slots)
    }

    /// The Prometheus text exposition of everything above.
    public func render() -> String { registry.emitToString() }
}
