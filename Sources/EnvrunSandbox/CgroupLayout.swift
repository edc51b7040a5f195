import Foundation

/// Where this machine mounts its cgroup hierarchies, read once from `/proc/self/mountinfo` (or
/// `/proc/mounts`). A plain value so that tests can point it at a directory of ordinary files
/// shaped like cgroupfs (this machine has cgroup v1 only; v2 is tested that way).
public struct CgroupLayout: Sendable, Equatable {
    /// How the hierarchies are mounted.
    public enum Mode: String, Sendable {
        /// Only v1 controller hierarchies (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/pids`, ...).
        case v1
        /// Only the unified hierarchy (the default of current Debian, Ubuntu and Fedora).
        case v2
        /// Both: v1 controllers plus a unified hierarchy (systemd's "hybrid", at `.../unified`).
        case hybrid
        case none
    }

    /// Which kind of cgroup `CgroupSlot` creates.
    public enum Backend: String, Sendable {
        case v1, v2
    }

    public var mode: Mode
    /// v1: controller name (`memory`, `pids`, ...) to its mount point.
    public var v1: [String: String]
    /// The mount point of the unified (v2) hierarchy.
    public var unified: String?
    /// The controllers the unified hierarchy's root offers (its `cgroup.controllers`).
    public var v2Controllers: Set<String>

    public init(mode: Mode, v1: [String: String] = [:], unified: String? = nil, v2Controllers: Set<String> = []) {
        self.mode = mode
        self.v1 = v1
        self.unified = unified
        self.v2Controllers = v2Controllers
    }

    /// The controllers envrun needs; `cpu` is enabled in the v2 subtree as well when offered.
    public static let required: [String] = ["memory", "pids"]

    /// The layout of this process, detected once.
    public static let current = detect()

    /// Reads the mount table (`mountinfo`, else `mounts`) and the unified root's controllers.
    public static func detect(mountinfo: String = "/proc/self/mountinfo", mounts: String = "/proc/mounts")
        -> CgroupLayout
    {
        if let text = try? String(contentsOfFile: mountinfo, encoding: .utf8) {
            return CgroupLayout(mountinfo: text, controllers: readControllers)
        }
        let text = (try? String(contentsOfFile: mounts, encoding: .utf8)) ?? ""
        return CgroupLayout(mounts: text, controllers: readControllers)
    }

    /// From `/proc/self/mountinfo` text: `id parent dev root mountpoint opts [tags] - fstype source superopts`.
    /// `controllers` reads a unified mount's `cgroup.controllers` (injectable for tests).
    public init(mountinfo: String, controllers: (String) -> Set<String> = CgroupLayout.readControllers) {
        var entries: [(type: String, point: String, options: String)] = []
        for line in mountinfo.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count > 7, let dash = f[6...].firstIndex(of: "-"), f.count > dash + 1 else { continue }
            let superOptions = f.count > dash + 3 ? f[dash + 3] : ""
            entries.append((f[dash + 1], Self.unescape(f[4]), superOptions))
        }
        self.init(entries: entries, controllers: controllers)
    }

    /// From `/proc/mounts` text: `source mountpoint fstype options dump pass`.
    public init(mounts: String, controllers: (String) -> Set<String> = CgroupLayout.readControllers) {
        let entries = mounts.split(separator: "\n").compactMap { line -> (type: String, point: String, options: String)? in
            let f = line.split(separator: " ").map(String.init)
            return f.count >= 4 ? (f[2], Self.unescape(f[1]), f[3]) : nil
        }
        self.init(entries: entries, controllers: controllers)
    }

    private init(entries: [(type: String, point: String, options: String)], controllers: (String) -> Set<String>) {
        var v1: [String: String] = [:]
        var unified: String?
        for e in entries {
            switch e.type {
            case "cgroup":
                // The super options name the controllers bound to this hierarchy; `name=systemd`
                // and the like are named hierarchies without a controller.
                for opt in e.options.split(separator: ",") where Self.knownV1Controllers.contains(String(opt)) {
                    v1[String(opt)] = v1[String(opt)] ?? e.point
                }
            case "cgroup2":
                unified = unified ?? e.point
            default:
                continue
            }
        }
        let mode: Mode =
            switch (v1.isEmpty, unified == nil) {
            case (true, true): .none
            case (false, true): .v1
            case (true, false): .v2
            case (false, false): .hybrid
            }
        self.init(mode: mode, v1: v1, unified: unified, v2Controllers: unified.map(controllers) ?? [])
    }

    static let knownV1Controllers: Set<String> = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio",
        "perf_event", "hugetlb", "pids", "rdma", "misc",
    ]

    /// The words of `<mount>/cgroup.controllers` (empty when unreadable).
    public static func readControllers(_ mount: String) -> Set<String> {
        let text = (try? String(contentsOfFile: mount + "/cgroup.controllers", encoding: .utf8)) ?? ""
        return Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
    }

    /// v2 when the unified hierarchy offers memory and pids, else v1 when both v1 hierarchies are
    /// mounted; nil when neither has both (a controller sits in one hierarchy only).
    public var backend: Backend? {
        if unified != nil && Self.required.allSatisfy(v2Controllers.contains) { return .v2 }
        if Self.required.allSatisfy({ v1[$0] != nil }) { return .v1 }
        return nil
    }

    /// The root of the hierarchy holding `controller` for the backend in use (v2: the unified mount).
    public func hierarchy(for controller: String) -> String? {
        backend == .v2 ? unified : v1[controller]
    }

    /// The delegated v2 subtree: `<unified>/envrun`, whose leaves are the slots' cgroups.
    public var v2Subtree: String? { unified.map { $0 + "/envrun" } }

    /// What the mount table shows, for `envrun doctor`.
    public var summary: String {
        var parts: [String] = []
        for c in Self.required { if let p = v1[c] { parts.append("v1 \(c) at \(p)") } }
        if let u = unified {
            let offered = v2Controllers.isEmpty ? "none" : v2Controllers.sorted().joined(separator: " ")
            parts.append("v2 at \(u) (controllers: \(offered))")
        }
        return "\(mode.rawValue): " + (parts.isEmpty ? "no cgroup hierarchy mounted" : parts.joined(separator: "; "))
    }

    /// Mount points escape space, tab, newline and backslash as octal (`\040`).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
                let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
