import Foundation

/// One look at a process in `/proc`: its resident memory, open fds and threads, and the same totals
/// over its descendants (warm workers, running jobs).
public struct ProcessSample: Codable, Sendable, Equatable {
    /// Seconds since the bench started.
    public var seconds: Double
    public var rssKB: Int
    public var fds: Int
    /// Of the fds, the sockets (the listener, client connections, control sockets to the warm workers);
    /// the rest are pipes, files, eventfds and the like.
    public var sockets: Int
    public var threads: Int
    /// Descendant processes alive at the sample, and their summed RSS.
    public var descendants: Int
    public var descendantsRssKB: Int
    /// Answers other than 429 so far (all classes) and 429s so far, for the rates between samples.
    public var answered: Int
    public var saturated: Int
    /// `GET /healthz` latency at the sample (nil: no answer within 10 s).
    public var healthzMs: Double?

    enum CodingKeys: String, CodingKey {
        case seconds, fds, sockets, threads, descendants, answered, saturated
        case rssKB = "rss_kb"
        case descendantsRssKB = "descendants_rss_kb"
        case healthzMs = "healthz_ms"
    }
}

/// Reads `/proc/PID/status` and `/proc/PID/fd` (Linux).
public enum ProcessSampler {
    public struct Reading: Sendable, Equatable {
        public var rssKB: Int
        public var fds: Int
        public var sockets: Int
        public var threads: Int
        public var descendants: Int
        public var descendantsRssKB: Int
    }

    /// Nil when the process is gone.
    public static func read(pid: Int32) -> Reading? {
        guard let own = status(pid) else { return nil }
        let dir = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let sockets = entries.filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + $0))?.hasPrefix("socket:") ?? false
        }.count
        let kids = descendants(of: pid)
        let kidsRSS = kids.compactMap { status($0)?.rss }.reduce(0, +)
        return Reading(rssKB: own.rss, fds: entries.count, sockets: sockets, threads: own.threads, descendants: kids.count,
                       descendantsRssKB: kidsRSS)
    }

    /// VmRSS (kB) and Threads of `/proc/PID/status`.
    static func status(_ pid: Int32) -> (rss: Int, threads: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var rss = 0, threads = 0
        func value(_ line: Substring) -> Int {
            Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") ?? 0
        }
        for line in text.split(separator: "\n") {
            if line.hasPrefix("VmRSS:") { rss = value(line) }
            if line.hasPrefix("Threads:") { threads = value(line) }
        }
        return (rss, threads)
    }

    /// Every process whose parent chain reaches `pid` (one pass over `/proc/*/stat`).
    static func descendants(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var children: [Int32: [Int32]] = [:]
        for entry in entries {
            guard let p = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm) ": state, then ppid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = Int32(fields[1]) { children[ppid, default: []].append(p) }
        }
        var out: [Int32] = [], queue = children[pid] ?? []
        while let next = queue.popLast() {
            out.append(next)
            queue += children[next] ?? []
        }
        return out
    }
}
