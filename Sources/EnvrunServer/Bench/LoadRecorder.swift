import Foundation
import Synchronization

/// Counts of one class (or all of them) over a run.
public struct ClassCounts: Codable, Sendable, Equatable {
    /// Requests sent (each retry after a 429 is a request).
    public var sent = 0
    /// Requests that got an HTTP answer, 429s included.
    public var answered = 0
    public var status2xx = 0
    /// 4xx other than 429.
    public var status4xx = 0
    public var status5xx = 0
    /// 429 answers (back-pressure), counted apart from the 4xx.
    public var saturated = 0
    /// No answer: connection refused or reset, timeout.
    public var transportErrors = 0
    /// `sandbox_error` verdicts in answers (a batch can hold several).
    public var sandboxErrors = 0
    /// Answers other than the expected one (status, reward, output).
    public var unexpected = 0
    /// Hostile programs that got through.
    public var breaches = 0
    /// Latency percentiles of the answered requests, 429s left out (ms).
    public var p50Ms = 0.0
    public var p99Ms = 0.0
    public var maxMs = 0.0
    /// Answers per case of the class (language, attack, kind of bad request).
    public var cases: [String: Int] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sent, answered, saturated, unexpected, breaches, cases
        case status2xx = "status_2xx", status4xx = "status_4xx", status5xx = "status_5xx"
        case transportErrors = "transport_errors", sandboxErrors = "sandbox_errors", otherStatus = "other_status"
        case p50Ms = "p50_ms", p99Ms = "p99_ms", maxMs = "max_ms"
    }

    /// Answered requests by status class add up, and every sent request is answered or a transport error.
    public var consistent: Bool {
        answered == status2xx + status4xx + status5xx + saturated + otherStatus && sent == answered + transportErrors
    }

    /// 1xx/3xx answers (none expected; kept so the sums hold).
    public var otherStatus = 0
}

/// Something worth a line in the report: an unexpected answer, a breach, a transport error, a 5xx.
public struct Incident: Codable, Sendable, Equatable {
    public var seconds: Double
    public var loadClass: String
    public var name: String
    public var kind: String
    public var message: String

    enum CodingKeys: String, CodingKey {
        case seconds, name, kind, message
        case loadClass = "class"
    }
}

/// The shared tallies of a run; every worker records into it.
final class LoadRecorder: Sendable {
    struct State {
        var counts: [LoadClass: ClassCounts] = [:]
        var latencies: [LoadClass: [Double]] = [:]
        var incidents: [Incident] = []
        var incidentCount = 0
    }

    private let state = Mutex(State())
    let maxIncidents: Int

    init(maxIncidents: Int = 40) { self.maxIncidents = maxIncidents }

    func sent(_ c: LoadClass) { state.withLock { $0.counts[c, default: .init()].sent += 1 } }

    /// An HTTP answer and its judgement.
    func answered(_ c: LoadClass, name: String, status: Int, ms: Double, judgement: Judgement, at seconds: Double) {
        state.withLock { s in
            var k = s.counts[c, default: .init()]
            k.answered += 1
            switch status {
            case 429: k.saturated += 1
            case 200..<300: k.status2xx += 1
            case 400..<500: k.status4xx += 1
            case 500..<600: k.status5xx += 1
            default: k.otherStatus += 1
            }
            if status != 429 {
                s.latencies[c, default: []].append(ms)
                k.cases[name, default: 0] += 1
                k.sandboxErrors += judgement.sandboxErrors
                if judgement.unexpected != nil { k.unexpected += 1 }
                if judgement.breach != nil { k.breaches += 1 }
            }
            s.counts[c] = k
            var notes: [(String, String)] = []
            if status >= 500 { notes.append(("5xx", "status \(status) \(judgement.unexpected ?? "")")) }
            if judgement.sandboxErrors > 0 { notes.append(("sandbox_error", "\(judgement.sandboxErrors) in the answer: \(judgement.sandboxDetail ?? "no detail")")) }
            if let u = judgement.unexpected, status < 500 { notes.append(("unexpected", u)) }
            if let b = judgement.breach { notes.append(("breach", b)) }
            for (kind, message) in notes { Self.note(&s, max: maxIncidents, seconds, c, name, kind, message) }
        }
    }

    func transportError(_ c: LoadClass, name: String, error: any Error, at seconds: Double) {
        state.withLock { s in
            s.counts[c, default: .init()].transportErrors += 1
            Self.note(&s, max: maxIncidents, seconds, c, name, "transport", String(describing: error).prefix(300).description)
        }
    }

    private static func note(_ s: inout State, max: Int, _ seconds: Double, _ c: LoadClass, _ name: String,
                             _ kind: String, _ message: String)
    {
        s.incidentCount += 1
        if s.incidents.count < max {
            s.incidents.append(Incident(seconds: seconds, loadClass: c.rawValue, name: name, kind: kind, message: message))
        }
    }

    /// Answers other than 429, and 429s, so far over all classes.
    var progress: (answered: Int, saturated: Int, failures: Int) {
        state.withLock { s in
            s.counts.values.reduce(into: (0, 0, 0)) { acc, k in
                acc.0 += k.answered - k.saturated
                acc.1 += k.saturated
                acc.2 += k.status5xx + k.transportErrors + k.sandboxErrors + k.unexpected + k.breaches
            }
        }
    }

    /// Per-class counts with their percentiles, in `LoadClass` order, and the total row.
    func snapshot() -> (classes: [(LoadClass, ClassCounts)], total: ClassCounts, incidents: [Incident], incidentCount: Int) {
        state.withLock { s in
            var total = ClassCounts()
            var all: [Double] = []
            var rows: [(LoadClass, ClassCounts)] = []
            for c in LoadClass.allCases {
                guard var k = s.counts[c] else { continue }
                let lat = (s.latencies[c] ?? []).sorted()
                (k.p50Ms, k.p99Ms, k.maxMs) = (percentile(lat, 0.5), percentile(lat, 0.99), lat.last ?? 0)
                rows.append((c, k))
                all += lat
                total.sent += k.sent
                total.answered += k.answered
                total.status2xx += k.status2xx
                total.status4xx += k.status4xx
                total.status5xx += k.status5xx
                total.otherStatus += k.otherStatus
                total.saturated += k.saturated
                total.transportErrors += k.transportErrors
                total.sandboxErrors += k.sandboxErrors
                total.unexpected += k.unexpected
                total.breaches += k.breaches
            }
            all.sort()
            (total.p50Ms, total.p99Ms, total.maxMs) = (percentile(all, 0.5), percentile(all, 0.99), all.last ?? 0)
            return (rows, total, s.incidents, s.incidentCount)
        }
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}
