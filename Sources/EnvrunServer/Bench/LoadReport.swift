import Foundation

/// What `envrun bench load` measured, printed as tables or (`--json`) encoded as is.
public struct LoadReport: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var loadClass: String
        public var counts: ClassCounts
        enum CodingKeys: String, CodingKey {
            case counts
            case loadClass = "class"
        }
    }

    /// One burst of containment attacks fired at once.
    public struct Burst: Codable, Sendable, Equatable {
        public var startSeconds: Double
        public var seconds: Double
        public var fired: Int
        /// Attacks that got a verdict (after retrying their 429s).
        public var answered: Int
        public var contained: Int
        public var saturated: Int
        enum CodingKeys: String, CodingKey {
            case seconds, fired, answered, contained, saturated
            case startSeconds = "start_seconds"
        }
    }

    /// Server RSS and fds at the first sample after the warm-up against the last sample.
    public struct Flatness: Codable, Sendable, Equatable {
        public var fromSeconds: Double
        public var toSeconds: Double
        public var rssFromKB: Int
        public var rssToKB: Int
        public var rssMaxKB: Int
        public var fdsFrom: Int
        public var fdsTo: Int
        public var fdsMax: Int
        /// Fds other than sockets (the connections come and go with the load; pipes, files and eventfds
        /// should not grow).
        public var otherFdsFrom: Int
        public var otherFdsTo: Int
        public var otherFdsMax: Int
        public var rssRatio: Double { rssFromKB > 0 ? Double(rssToKB) / Double(rssFromKB) : 0 }
        public var fdsRatio: Double { fdsFrom > 0 ? Double(fdsTo) / Double(fdsFrom) : 0 }
        enum CodingKeys: String, CodingKey {
            case fromSeconds = "from_seconds", toSeconds = "to_seconds", rssFromKB = "rss_from_kb", rssToKB = "rss_to_kb"
            case rssMaxKB = "rss_max_kb", fdsFrom = "fds_from", fdsTo = "fds_to", fdsMax = "fds_max"
            case otherFdsFrom = "other_fds_from", otherFdsTo = "other_fds_to", otherFdsMax = "other_fds_max"
        }
        enum RatioKeys: String, CodingKey {
            case rssRatio = "rss_ratio", fdsRatio = "fds_ratio"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(fromSeconds, forKey: .fromSeconds)
            try c.encode(toSeconds, forKey: .toSeconds)
            try c.encode(rssFromKB, forKey: .rssFromKB)
            try c.encode(rssToKB, forKey: .rssToKB)
            try c.encode(rssMaxKB, forKey: .rssMaxKB)
            try c.encode(fdsFrom, forKey: .fdsFrom)
            try c.encode(fdsTo, forKey: .fdsTo)
            try c.encode(fdsMax, forKey: .fdsMax)
            try c.encode(otherFdsFrom, forKey: .otherFdsFrom)
            try c.encode(otherFdsTo, forKey: .otherFdsTo)
            try c.encode(otherFdsMax, forKey: .otherFdsMax)
            var r = encoder.container(keyedBy: RatioKeys.self)
            try r.encode(rssRatio, forKey: .rssRatio)
            try r.encode(fdsRatio, forKey: .fdsRatio)
        }
    }

    public var url: String
    public var pid: Int32
    public var durationSeconds: Double
    /// Wall time until the last request was answered (the bursts and jobs in flight end after the deadline).
    public var wallSeconds: Double
    public var concurrency: Int
    public var attackBurst: Int
    public var attackEverySeconds: Double
    public var seed: UInt64
    public var languages: [String]
    public var classes: [Row]
    public var total: ClassCounts
    public var bursts: [Burst]
    public var samples: [ProcessSample]
    public var flatness: Flatness?
    public var healthzP50Ms: Double
    public var healthzP99Ms: Double
    public var incidents: [Incident]
    /// Incidents in all (the list above is capped).
    public var incidentCount: Int
    /// The host file the attacks tried to read and write is unchanged.
    public var hostFileIntact: Bool
    /// The server process is alive after the run.
    public var serverAlive: Bool
    /// Warning and error lines of the server's log (only when the bench started the server).
    public var serverWarnings: Int?
    public var serverLogTail: [String]?
    /// Exit status of the server after SIGTERM (only when the bench started it).
    public var serverExitStatus: Int32?
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case url, pid, concurrency, seed, languages, classes, total, bursts, samples, flatness, incidents, notes
        case durationSeconds = "duration_seconds", wallSeconds = "wall_seconds", attackBurst = "attack_burst"
        case attackEverySeconds = "attack_every_seconds", healthzP50Ms = "healthz_p50_ms", healthzP99Ms = "healthz_p99_ms"
        case incidentCount = "incident_count", hostFileIntact = "host_file_intact", serverAlive = "server_alive"
        case serverWarnings = "server_warnings", serverLogTail = "server_log_tail", serverExitStatus = "server_exit_status"
        case failures, passed
    }

    /// Why the run failed (empty: it passed): any 5xx, transport error, `sandbox_error`, unexpected
    /// answer or breach, a burst attack left unanswered, the host file changed, the server gone or
    /// exiting non-zero after SIGTERM.
    public func checkFailures() -> [String] {
        var out: [String] = []
        let t = total
        if t.status5xx > 0 { out.append("\(t.status5xx) answers were 5xx") }
        if t.transportErrors > 0 { out.append("\(t.transportErrors) requests got no answer (transport errors)") }
        if t.sandboxErrors > 0 { out.append("\(t.sandboxErrors) sandbox_error verdicts") }
        if t.unexpected > 0 { out.append("\(t.unexpected) answers other than expected") }
        if t.breaches > 0 { out.append("\(t.breaches) hostile programs not contained") }
        let unanswered = bursts.reduce(0) { $0 + $1.fired - $1.answered }
        if unanswered > 0 { out.append("\(unanswered) burst attacks never got a verdict") }
        if !hostFileIntact { out.append("the host file the attacks aimed at changed") }
        if !serverAlive { out.append("the server process is gone") }
        if let s = serverExitStatus, s != 0 { out.append("the server exited \(s) after SIGTERM") }
        return out
    }

    /// Set by `LoadBench.run` from `checkFailures()` once the run is over.
    public var failures: [String] = []
    public var passed: Bool = false

    /// The first sample at or after `warmup` seconds against the last one.
    static func flatness(_ samples: [ProcessSample], warmup: Double) -> Flatness? {
        guard let last = samples.last, let from = samples.first(where: { $0.seconds >= warmup }) ?? samples.first,
              from.seconds < last.seconds
        else { return nil }
        let window = samples.filter { $0.seconds >= from.seconds }
        return Flatness(fromSeconds: from.seconds, toSeconds: last.seconds, rssFromKB: from.rssKB, rssToKB: last.rssKB,
                        rssMaxKB: window.map(\.rssKB).max() ?? 0, fdsFrom: from.fds, fdsTo: last.fds,
                        fdsMax: window.map(\.fds).max() ?? 0, otherFdsFrom: from.fds - from.sockets,
                        otherFdsTo: last.fds - last.sockets, otherFdsMax: window.map { $0.fds - $0.sockets }.max() ?? 0)
    }
}

extension LoadReport {
    /// The tables `envrun bench load` prints.
    public func render() -> String {
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        func mb(_ kb: Int) -> String { f(Double(kb) / 1024) }
        func pad(_ s: String, _ w: Int) -> String { s.padding(toLength: max(w, s.count), withPad: " ", startingAt: 0) }
        var out = "envrun bench load — \(url) (pid \(pid)), \(f(durationSeconds, 0)) s at concurrency \(concurrency), "
        out += "attack bursts of \(attackBurst) every \(f(attackEverySeconds, 0)) s, seed \(seed); languages: "
        out += languages.joined(separator: ", ") + "; wall \(f(wallSeconds)) s\n\n"
        out += "class          sent  answered    2xx    4xx  5xx    429  no-answer  sandbox_error  unexpected  breach   p50 ms   p99 ms   max ms\n"
        func line(_ name: String, _ k: ClassCounts) -> String {
            pad(name, 12) + String(k.sent).leftPad(7) + String(k.answered).leftPad(10) + String(k.status2xx).leftPad(7)
                + String(k.status4xx).leftPad(7) + String(k.status5xx).leftPad(5) + String(k.saturated).leftPad(7)
                + String(k.transportErrors).leftPad(11) + String(k.sandboxErrors).leftPad(15)
                + String(k.unexpected).leftPad(12) + String(k.breaches).leftPad(8) + f(k.p50Ms).leftPad(9)
                + f(k.p99Ms).leftPad(9) + f(k.maxMs).leftPad(9) + "\n"
        }
        for row in classes { out += line(row.loadClass, row.counts) }
        out += line("total", total)
        out += "(429 = back-pressure, counted apart from the 4xx; latencies leave the 429s out; "
        out += "no-answer = transport error or timeout)\n"

        out += "\ncases answered per class:\n"
        for row in classes {
            let cases = row.counts.cases.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            out += "  \(pad(row.loadClass, 12)) " + cases.joined(separator: ", ") + "\n"
        }

        if !bursts.isEmpty {
            out += "\nattack bursts (all at once; a 429 is retried until the attack gets its verdict):\n"
            out += "  start s  fired  answered  contained   429   seconds\n"
            for b in bursts {
                out += "  " + f(b.startSeconds).leftPad(7) + String(b.fired).leftPad(7) + String(b.answered).leftPad(10)
                    + String(b.contained).leftPad(11) + String(b.saturated).leftPad(6) + f(b.seconds).leftPad(10) + "\n"
            }
        }

        out += "\nserver process samples (rss and fds of the server; descendants = its warm workers and running jobs):\n"
        out += "  time s   rss MB   fds  sockets  threads  descendants  desc. rss MB  answered/s  429/s  healthz ms\n"
        out += "  (answered/s leaves the 429s out; the sockets are mostly the bench's own keep-alive connections)\n"
        var previous: ProcessSample?
        for s in samples {
            let dt = previous.map { s.seconds - $0.seconds } ?? 0
            let rate = dt > 0 ? Double(s.answered - (previous?.answered ?? 0)) / dt : 0
            let rate429 = dt > 0 ? Double(s.saturated - (previous?.saturated ?? 0)) / dt : 0
            out += "  " + f(s.seconds).leftPad(6) + mb(s.rssKB).leftPad(9) + String(s.fds).leftPad(6)
                + String(s.sockets).leftPad(9) + String(s.threads).leftPad(9) + String(s.descendants).leftPad(13) + mb(s.descendantsRssKB).leftPad(14)
                + f(rate).leftPad(12) + f(rate429).leftPad(7) + (s.healthzMs.map { f($0) } ?? "none").leftPad(12) + "\n"
            previous = s
        }
        if let fl = flatness {
            out += "  from \(f(fl.fromSeconds, 0)) s to \(f(fl.toSeconds, 0)) s: rss \(mb(fl.rssFromKB)) → \(mb(fl.rssToKB)) MB "
            out += "(×\(f(fl.rssRatio, 2)), max \(mb(fl.rssMaxKB))), fds \(fl.fdsFrom) → \(fl.fdsTo) (×\(f(fl.fdsRatio, 2)), max \(fl.fdsMax)), "
            out += "fds but sockets \(fl.otherFdsFrom) → \(fl.otherFdsTo) (max \(fl.otherFdsMax))\n"
        }
        out += "  healthz p50 \(f(healthzP50Ms)) ms, p99 \(f(healthzP99Ms)) ms\n"

        if !incidents.isEmpty {
            out += "\nincidents (\(incidentCount) in all, first \(incidents.count)):\n"
            for i in incidents {
                out += "  [\(f(i.seconds, 0)) s] \(i.loadClass)/\(i.name) \(i.kind): \(i.message)\n"
            }
        }
        if let w = serverWarnings {
            out += "\nserver log: \(w) warning or error lines"
            if let tail = serverLogTail, !tail.isEmpty { out += "; last ones:\n" + tail.map { "  " + $0 }.joined(separator: "\n") }
            out += "\n"
        }
        if let s = serverExitStatus { out += "server exit status after SIGTERM: \(s)\n" }
        for n in notes { out += "note: \(n)\n" }
        out += failures.isEmpty ? "\nPASS\n" : "\nFAIL: " + failures.joined(separator: "; ") + "\n"
        return out
    }
}
