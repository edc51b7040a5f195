import CoreMetrics
import EnvrunCore
import Metrics
import Prometheus

/// The server's metrics, written through swift-metrics into one Prometheus registry that `GET /metrics`
/// renders. The registry is per application (no global bootstrap), so tests can build many apps.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

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

    /// One finished HTTP request: counted by route, method and status; its latency by route.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "envrun_http_requests_total",
                dimensions: [("route", route), ("method", method), ("status", String(status))],
                factory: factory).increment()
        Timer(label: "envrun_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// One scored item: its reward status per pack, and the program's verdict when there was one.
    func recordReward(pack: String, _ result: RewardResult) {
        Counter(label: "envrun_rewards_total", dimensions: [("pack", pack), ("status", result.status.rawValue)],
                factory: factory).increment()
        if let verdict = result.details["verdict"] { recordVerdict(verdict) }
        if let step = result.details["sandbox_step"] { recordSandboxError(step: step) }
    }

    func recordVerdict(_ verdict: String) {
        Counter(label: "envrun_verdicts_total", dimensions: [("verdict", verdict)], factory: factory).increment()
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

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
