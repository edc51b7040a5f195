import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The cgroup v1 `memory` and `pids` directories of one slot, created once and reused for every
/// run of the slot (creating one per run costs ~20 ms at p90 here). The child joins them by
/// writing "0" to the `cgroup.procs` fds opened here.
final class CgroupSlot: @unchecked Sendable {
    static let memoryRoot = "/sys/fs/cgroup/memory"
    static let pidsRoot = "/sys/fs/cgroup/pids"

    let memoryDir: String?
    let pidsDir: String?
    private(set) var procsFds: [Int32] = []
    private var memoryLimit = -1
    private var pidsLimit = -1

    /// Creates (or reuses) `<root>/envrun/<name>` in each hierarchy that works; a hierarchy that
    /// does not work is left out (`envrun doctor` says why).
    init(name: String) {
        func make(_ root: String) -> String? {
            guard access(root + "/cgroup.procs", W_OK) == 0 else { return nil }
            let parent = root + "/envrun"
            mkdir(parent, 0o755)
            let dir = parent + "/" + name
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { return nil }
            return dir
        }
        memoryDir = make(Self.memoryRoot)
        pidsDir = make(Self.pidsRoot)
        for dir in [memoryDir, pidsDir].compactMap({ $0 }) {
            let fd = open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            if fd >= 0 { procsFds.append(fd) }
        }
    }

    /// Sets the limits of the next run (written only when they change) and resets the peak.
    func prepare(memoryBytes: Int, pids: Int) {
        if let m = memoryDir {
            if memoryBytes != memoryLimit, Self.write(m + "/memory.limit_in_bytes", "\(memoryBytes)") {
                memoryLimit = memoryBytes
            }
            _ = Self.write(m + "/memory.max_usage_in_bytes", "0")
        }
        if let p = pidsDir, pids != pidsLimit, Self.write(p + "/pids.max", "\(pids)") {
            pidsLimit = pids
        }
    }

    /// Cumulative count of OOM kills in the memory cgroup.
    func oomKills() -> Int {
        guard let m = memoryDir, let s = Self.read(m + "/memory.oom_control") else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst(9)) ?? 0
        }
        return 0
    }

    func failCount() -> Int {
        guard let m = memoryDir, let s = Self.read(m + "/memory.failcnt") else { return 0 }
        return Int(s.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    func peakBytes() -> Int {
        guard let m = memoryDir, let s = Self.read(m + "/memory.max_usage_in_bytes") else { return 0 }
        return Int(s.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Moves one thread of ours (the slot thread) into both cgroups: what it clones is born there.
    func adopt(thread tid: pid_t) -> Bool {
        var ok = true
        for dir in [memoryDir, pidsDir].compactMap({ $0 }) { ok = Self.write(dir + "/tasks", "\(tid)") && ok }
        return ok
    }

    /// Moves a thread of ours back to the root cgroups (before the slot's cgroups are removed).
    static func returnToRoot(thread tid: pid_t) -> Bool {
        var ok = true
        for root in [memoryRoot, pidsRoot] { ok = write(root + "/tasks", "\(tid)") && ok }
        return ok
    }

    /// Host task ids in either cgroup of the slot, except this process's own threads (the slot
    /// thread lives in the cold cgroups).
    func tasks() -> [pid_t] {
        var set = Set<pid_t>()
        for dir in [memoryDir, pidsDir].compactMap({ $0 }) {
            for line in (Self.read(dir + "/tasks") ?? "").split(separator: "\n") {
                if let p = pid_t(line) { set.insert(p) }
            }
        }
        let me = getpid()
        return set.filter { access("/proc/\(me)/task/\($0)", F_OK) != 0 }.sorted()
    }

    /// SIGKILLs every task of the slot except `sparing`; returns how many were found.
    @discardableResult
    func killAll(sparing: pid_t? = nil) -> Int {
        let victims = tasks().filter { $0 != sparing }
        for p in victims { kill(p, SIGKILL) }
        return victims.count
    }

    /// Closes the fds and removes the directories (after the last task is gone).
    func remove() {
        for fd in procsFds { close(fd) }
        procsFds = []
        for dir in [memoryDir, pidsDir].compactMap({ $0 }) {
            for _ in 0..<50 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                killAll()
                usleep(2000)
            }
        }
    }

    static func write(_ path: String, _ value: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        var out = [UInt8]()
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
