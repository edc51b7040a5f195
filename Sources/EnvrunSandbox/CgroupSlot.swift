import CEnvrunSandbox
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
    /// Files read or reset around every run, kept open (a path walk through cgroupfs and an open
    /// per read cost more than the read): -1 when the hierarchy is missing.
    private var oomControlFd: Int32 = -1
    private var failcntFd: Int32 = -1
    private var maxUsageFd: Int32 = -1
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
        if let m = memoryDir {
            oomControlFd = open(m + "/memory.oom_control", O_RDONLY | O_CLOEXEC)
            failcntFd = open(m + "/memory.failcnt", O_RDONLY | O_CLOEXEC)
            maxUsageFd = open(m + "/memory.max_usage_in_bytes", O_RDWR | O_CLOEXEC)
        }
    }

    /// Sets the limits of the next run (written only when they change); `resetPeak` zeroes the
    /// memory high-water mark (cold runs report it as the peak).
    func prepare(memoryBytes: Int, pids: Int, resetPeak: Bool = true) {
        if let m = memoryDir, memoryBytes != memoryLimit,
            Self.write(m + "/memory.limit_in_bytes", "\(memoryBytes)")
        {
            memoryLimit = memoryBytes
        }
        if resetPeak && maxUsageFd >= 0 { _ = pwrite(maxUsageFd, "0", 1, 0) }
        if let p = pidsDir, pids != pidsLimit, Self.write(p + "/pids.max", "\(pids)") {
            pidsLimit = pids
        }
    }

    /// Cumulative count of OOM kills in the memory cgroup.
    func oomKills() -> Int { oomControlFd < 0 ? 0 : max(0, Int(envrun_read_int(oomControlFd, "oom_kill"))) }

    func failCount() -> Int { failcntFd < 0 ? 0 : max(0, Int(envrun_read_int(failcntFd, nil))) }

    func peakBytes() -> Int { maxUsageFd < 0 ? 0 : max(0, Int(envrun_read_int(maxUsageFd, nil))) }

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

    /// Host task ids in the slot's cgroups, except this process's own threads (the slot thread
    /// lives in the cold cgroups). Opened per read: cgroup v1 keeps the list it built for an open
    /// file and would hand the same list back to a re-read.
    func tasks() -> [pid_t] {
        guard let dir = pidsDir ?? memoryDir else { return [] }
        let fd = open(dir + "/tasks", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var ids = [Int32](repeating: 0, count: 4096)
        let n = Int(envrun_read_ids(fd, &ids, Int32(ids.count)))
        guard n > 0 else { return [] }
        let me = getpid()
        return ids[0..<n].filter { access("/proc/\(me)/task/\($0)", F_OK) != 0 }.sorted()
    }

    /// SIGKILLs every task of the slot except `sparing`; returns how many were found.
    @discardableResult
    func killAll(sparing: pid_t? = nil) -> Int {
        let victims = tasks().filter { $0 != sparing }
        for p in victims { kill(p, SIGKILL) }
        return victims.count
    }

    /// Removes the directories (after the last task is gone), then closes the fds.
    func remove() {
        for dir in [memoryDir, pidsDir].compactMap({ $0 }) {
            for _ in 0..<50 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                killAll()
                usleep(2000)
            }
        }
        for fd in procsFds + [oomControlFd, failcntFd, maxUsageFd] where fd >= 0 { close(fd) }
        procsFds = []
        (oomControlFd, failcntFd, maxUsageFd) = (-1, -1, -1)
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
