import CEnvrunSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The memory and pids cgroups of one slot, created once and reused for every run of the slot
/// (creating one per run costs ~20 ms at p90 here). One API over two backends, chosen by the
/// detected `CgroupLayout`:
///  - v1: `<memory root>/envrun/<name>` and `<pids root>/envrun/<name>`, two directories.
///  - v2: one leaf `<unified>/envrun/<name>` of the delegated subtree `<unified>/envrun`, whose
///    `cgroup.subtree_control` enables memory and pids (and cpu when offered). The subtree itself
///    holds no process (v2's "no internal processes" rule); only leaves do.
/// The child joins by writing "0" to the `cgroup.procs` fds opened here (`procsFds`).
final class CgroupSlot: @unchecked Sendable {
    /// The root of the hierarchy holding memory (v1: its mount; v2: the unified mount).
    static var memoryRoot: String { CgroupLayout.current.hierarchy(for: "memory") ?? "/sys/fs/cgroup/memory" }
    static var pidsRoot: String { CgroupLayout.current.hierarchy(for: "pids") ?? "/sys/fs/cgroup/pids" }
    /// Every hierarchy a slot has directories in (v2: the unified one, once).
    static var hierarchyRoots: [String] {
        let layout = CgroupLayout.current
        if layout.backend == .v2 { return [memoryRoot] }
        return [memoryRoot, pidsRoot] + [layout.v1["cpuacct"]].compactMap { $0 }
    }

    let backend: CgroupLayout.Backend?
    /// The directory whose files limit memory (v2: the leaf), nil when that layer is missing.
    let memoryDir: String?
    let pidsDir: String?
    private(set) var procsFds: [Int32] = []
    /// Swap is limited too: v1 `memory.memsw.limit_in_bytes` (absent without swap accounting) is
    /// kept equal to the memory limit; v2 `memory.swap.max` is 0.
    private(set) var swapLimited = false
    /// Files read or reset around every run, kept open (a path walk through cgroupfs and an open
    /// per read cost more than the read): -1 when the hierarchy is missing. v2 reads both OOM
    /// kills and limit hits from `memory.events`.
    private var oomFd: Int32 = -1
    private var failFd: Int32 = -1
    private var peakFd: Int32 = -1
    /// CPU time of every process of the slot (v1 `cpuacct.usage`, ns; v2 `cpu.stat` usage_usec):
    /// the judged CPU of a run, background processes it never waited for included.
    let cpuacctDir: String?
    private var cpuFd: Int32 = -1
    /// memory.usage_in_bytes (v1) / memory.current (v2), read after every run, and memory.stat.
    private var usageFd: Int32 = -1
    private var statFd: Int32 = -1
    /// v2 `memory.peak` is resettable (per open file) only from Linux 6.12; before, a cold run's
    /// peak falls back to its rusage.
    private var peakResettable = true
    private var memoryLimit = -1
    private var pidsLimit = -1
    /// Threads of ours counted in the callers' pids figures (v1 `adopt(thread:)`); v2 cannot hold
    /// them, so its pids.max leaves them out.
    private var adoptedThreads = 0

    /// Creates (or reuses) the slot's cgroups in each hierarchy that works; a layer that does not
    /// work is left out (`envrun doctor` says why; the executor refuses to start without both
    /// unless told otherwise).
    init(name: String, layout: CgroupLayout = .current) {
        backend = layout.backend
        switch layout.backend {
        case .v2:
            let leaf = layout.v2Subtree.flatMap { sub -> String? in
                guard Self.prepareV2Subtree(layout) == nil else { return nil }
                let dir = sub + "/" + name
                return mkdir(dir, 0o755) == 0 || errno == EEXIST ? dir : nil
            }
            memoryDir = leaf.flatMap { access($0 + "/memory.max", W_OK) == 0 ? $0 : nil }
            pidsDir = leaf.flatMap { access($0 + "/pids.max", W_OK) == 0 ? $0 : nil }
            if let leaf {
                let fd = open(leaf + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
                if fd >= 0 { procsFds.append(fd) }
                cpuFd = open(leaf + "/cpu.stat", O_RDONLY | O_CLOEXEC)
            }
            cpuacctDir = cpuFd >= 0 ? leaf : nil
            if let m = memoryDir {
                swapLimited = Self.write(m + "/memory.swap.max", "0")
                usageFd = open(m + "/memory.current", O_RDONLY | O_CLOEXEC)
                statFd = open(m + "/memory.stat", O_RDONLY | O_CLOEXEC)
                oomFd = open(m + "/memory.events", O_RDONLY | O_CLOEXEC)
                failFd = open(m + "/memory.events", O_RDONLY | O_CLOEXEC)
                peakFd = open(m + "/memory.peak", O_RDWR | O_CLOEXEC)
                if peakFd < 0 {
                    peakFd = open(m + "/memory.peak", O_RDONLY | O_CLOEXEC)
                    peakResettable = false
                }
            }
        case .v1, nil:
            func make(_ root: String?) -> String? {
                guard let root, access(root + "/cgroup.procs", W_OK) == 0 else { return nil }
                let parent = root + "/envrun"
                mkdir(parent, 0o755)
                let dir = parent + "/" + name
                if mkdir(dir, 0o755) != 0 && errno != EEXIST { return nil }
                return dir
            }
            memoryDir = make(layout.v1["memory"])
            pidsDir = make(layout.v1["pids"])
            cpuacctDir = make(layout.v1["cpuacct"])
            if let c = cpuacctDir { cpuFd = open(c + "/cpuacct.usage", O_RDONLY | O_CLOEXEC) }
            for dir in [memoryDir, pidsDir, cpuacctDir].compactMap({ $0 }) {
                let fd = open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
                if fd >= 0 { procsFds.append(fd) }
            }
            if let m = memoryDir {
                swapLimited = access(m + "/memory.memsw.limit_in_bytes", W_OK) == 0
                usageFd = open(m + "/memory.usage_in_bytes", O_RDONLY | O_CLOEXEC)
                statFd = open(m + "/memory.stat", O_RDONLY | O_CLOEXEC)
                oomFd = open(m + "/memory.oom_control", O_RDONLY | O_CLOEXEC)
                failFd = open(m + "/memory.failcnt", O_RDONLY | O_CLOEXEC)
                peakFd = open(m + "/memory.max_usage_in_bytes", O_RDWR | O_CLOEXEC)
            }
        }
    }

    /// Both the memory and the pids layer exist for this slot.
    var limitsMemoryAndPids: Bool { memoryDir != nil && pidsDir != nil }

    /// The cgroup a cold run's pid 1 must join itself (through `procsFds`): nil on v1, where the
    /// slot thread was adopted and what it clones is born in the cgroups; self on v2, where a
    /// single thread cannot be moved.
    var joinedAtSpawn: CgroupSlot? { backend == .v2 ? self : nil }

    /// Sets the limits of the next run (written only when they change); `resetPeak` zeroes the
    /// memory high-water mark (cold runs report it as the peak).
    func prepare(memoryBytes: Int, pids: Int, resetPeak: Bool = true) {
        if let m = memoryDir, memoryBytes != memoryLimit, setMemory(m, memoryBytes) { memoryLimit = memoryBytes }
        if resetPeak && peakFd >= 0 && peakResettable && pwrite(peakFd, "0", 1, 0) < 0 {
            peakResettable = backend != .v2
        }
        let pidsMax = backend == .v2 ? max(1, pids - adoptedThreads) : pids
        if let p = pidsDir, pidsMax != pidsLimit, Self.write(p + "/pids.max", "\(pidsMax)") { pidsLimit = pidsMax }
    }

    /// v1 keeps memsw >= limit at every step: lowering writes the limit first, raising memsw first
    /// (a failed limit write is retried after memsw).
    private func setMemory(_ dir: String, _ bytes: Int) -> Bool {
        guard backend != .v2 else { return Self.write(dir + "/memory.max", "\(bytes)") }
        var ok = Self.write(dir + "/memory.limit_in_bytes", "\(bytes)")
        if swapLimited {
            let swapOk = Self.write(dir + "/memory.memsw.limit_in_bytes", "\(bytes)")
            if !ok { ok = Self.write(dir + "/memory.limit_in_bytes", "\(bytes)") }
            ok = ok && swapOk
        }
        return ok
    }

    /// Cumulative count of OOM kills in the memory cgroup.
    func oomKills() -> Int { oomFd < 0 ? 0 : max(0, Int(envrun_read_int(oomFd, "oom_kill"))) }

    /// Times the memory limit was hit (v1 `memory.failcnt`, v2 the `max` line of `memory.events`).
    func failCount() -> Int {
        failFd < 0 ? 0 : max(0, Int(envrun_read_int(failFd, backend == .v2 ? "max" : nil)))
    }

    /// The high-water mark since the last reset; 0 when unknown (v2 before Linux 6.12).
    /// Memory charged to the cgroup that reclaim cannot take back (all but file pages): after a run
    /// and its wipe, what a job left behind that is not a process (socket buffers held by fds in
    /// flight, for one). nil without the memory layer.
    func unreclaimableBytes() -> Int? {
        guard usageFd >= 0, statFd >= 0 else { return nil }
        let usage = Int(envrun_read_int(usageFd, nil))
        guard usage >= 0 else { return nil }
        if usage <= Slot.leftoverLimit { return usage }  // the common case: no memory.stat to read
        let keys = backend == .v2 ? ["file"] : ["total_active_file", "total_inactive_file"]
        let file = keys.map { max(0, Int(envrun_read_int(statFd, $0))) }.reduce(0, +)
        return max(0, usage - file)
    }

    /// CPU time used by the slot's processes so far, in ns (cumulative), or nil without the layer.
    func cpuNanoseconds() -> Int? {
        guard cpuFd >= 0 else { return nil }
        if backend == .v2 {
            let us = envrun_read_int(cpuFd, "usage_usec")
            return us < 0 ? nil : Int(us) * 1000
        }
        let ns = envrun_read_int(cpuFd, nil)
        return ns < 0 ? nil : Int(ns)
    }

    func peakBytes() -> Int {
        peakFd < 0 || !peakResettable ? 0 : max(0, Int(envrun_read_int(peakFd, nil)))
    }

    /// Moves one thread of ours (the slot thread) into both cgroups: what it clones is born there.
    /// v2 keeps all threads of a process in one cgroup: nothing to do (the child joins at spawn).
    func adopt(thread tid: pid_t) -> Bool {
        adoptedThreads += 1
        guard backend != .v2 else { return true }
        var ok = true
        for dir in [memoryDir, pidsDir, cpuacctDir].compactMap({ $0 }) {
            ok = Self.write(dir + "/tasks", "\(tid)") && ok
        }
        return ok
    }

    /// Moves a thread of ours back to the root cgroups (before the slot's cgroups are removed).
    static func returnToRoot(thread tid: pid_t) -> Bool {
        guard CgroupLayout.current.backend != .v2 else { return true }
        var ok = true
        for root in hierarchyRoots { ok = write(root + "/tasks", "\(tid)") && ok }
        return ok
    }

    /// Host task ids in the slot's cgroups, except this process's own threads (the slot thread
    /// lives in the cold v1 cgroups). Opened per read: cgroup v1 keeps the list it built for an
    /// open file and would hand the same list back to a re-read. v2 lists processes.
    func tasks() -> [pid_t] {
        guard let dir = pidsDir ?? memoryDir else { return [] }
        let fd = open(dir + (backend == .v2 ? "/cgroup.procs" : "/tasks"), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var ids = [Int32](repeating: 0, count: 4096)
        let n = Int(envrun_read_ids(fd, &ids, Int32(ids.count)))
        guard n > 0 else { return [] }
        let me = getpid()
        return ids[0..<n].filter { access("/proc/\(me)/task/\($0)", F_OK) != 0 }.sorted()
    }

    /// SIGKILLs every task of the slot except `sparing`; returns how many were found. v2 with
    /// nothing to spare writes `cgroup.kill` (Linux 5.14+), which also catches a process forked
    /// between the read and the kill.
    @discardableResult
    func killAll(sparing: pid_t? = nil) -> Int {
        let victims = tasks().filter { $0 != sparing }
        guard !victims.isEmpty else { return 0 }
        if backend == .v2, sparing == nil, let dir = pidsDir ?? memoryDir, Self.write(dir + "/cgroup.kill", "1") {
            return victims.count
        }
        for p in victims { kill(p, SIGKILL) }
        return victims.count
    }

    /// Removes the directories (after the last task is gone), then closes the fds.
    func remove() {
        for dir in Set([memoryDir, pidsDir, cpuacctDir].compactMap({ $0 })) {
            for _ in 0..<50 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                killAll()
                usleep(2000)
            }
        }
        for fd in procsFds + [oomFd, failFd, peakFd, cpuFd, usageFd, statFd] where fd >= 0 { close(fd) }
        procsFds = []
        (oomFd, failFd, peakFd, cpuFd, usageFd, statFd) = (-1, -1, -1, -1, -1, -1)
    }

    /// Enables the needed controllers for `<unified>/envrun` (in the root's `subtree_control`) and
    /// for its leaves (in its own), creating it; nil when done, else what failed. Idempotent.
    static func prepareV2Subtree(_ layout: CgroupLayout) -> String? {
        guard let root = layout.unified, let sub = layout.v2Subtree else { return "no cgroup v2 hierarchy" }
        let offered = CgroupLayout.readControllers(root)
        let missing = CgroupLayout.required.filter { !offered.contains($0) }
        guard missing.isEmpty else {
            return "\(root)/cgroup.controllers lacks \(missing.joined(separator: ", ")) (bound to a v1 hierarchy?)"
        }
        var wanted = CgroupLayout.required + (offered.contains("cpu") ? ["cpu"] : [])
        for (i, dir) in [root, sub].enumerated() {
            if i == 1 && mkdir(sub, 0o755) != 0 && errno != EEXIST {
                return "mkdir \(sub): \(String(cString: strerror(errno)))"
            }
            if let why = enable(wanted, in: dir) {
                // cpu is optional (enabling it fails e.g. while real-time tasks sit in the root).
                guard wanted.count > CgroupLayout.required.count, enable(CgroupLayout.required, in: dir) == nil else {
                    return why
                }
                wanted = CgroupLayout.required
            }
        }
        return nil
    }

    /// Writes `+c` for each controller of `wanted` not yet in `<dir>/cgroup.subtree_control`.
    private static func enable(_ wanted: [String], in dir: String) -> String? {
        let file = dir + "/cgroup.subtree_control"
        let on = Set((read(file) ?? "").split(whereSeparator: \.isWhitespace).map { String($0.drop { $0 == "+" }) })
        let add = wanted.filter { !on.contains($0) }
        if add.isEmpty { return nil }
        let line = add.map { "+" + $0 }.joined(separator: " ")
        if write(file, line) { return nil }
        let e = errno
        let hint = e == EBUSY ? " (the cgroup holds processes: v2 allows controllers only below cgroups without any)" : ""
        return "cannot write '\(line)' to \(file): \(String(cString: strerror(e)))\(hint)"
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
