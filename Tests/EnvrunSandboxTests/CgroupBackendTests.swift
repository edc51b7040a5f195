import CEnvrunSandbox
import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// A directory of ordinary files named like cgroupfs files, standing in for a hierarchy the kernel
/// would populate (this machine has cgroup v1 only, so the v2 backend is tested against this).
/// Files start empty: a value the code writes is then the whole content.
struct FakeCgroupFS {
    let root: String

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-cgfs-\(UUID().uuidString)").path
        mkdir(root, 0o755)
    }

    func put(_ path: String, _ content: String = "") {
        let full = root + "/" + path
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        // In place (not a new inode): the slot keeps counter files open, like the kernel's.
        try? content.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func get(_ path: String) -> String? { try? String(contentsOfFile: root + "/" + path, encoding: .utf8) }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: root + "/" + path) }
    func destroy() { try? FileManager.default.removeItem(atPath: root) }

    /// A unified hierarchy at `root` offering `controllers`, with the subtree and one leaf `leaf`.
    static func v2(controllers: String = "cpuset cpu io memory hugetlb pids rdma misc", leaf: String = "7-1",
                   killFile: Bool = true) -> FakeCgroupFS
    {
        let fs = FakeCgroupFS()
        fs.put("cgroup.controllers", controllers + "\n")
        for f in ["cgroup.procs", "cgroup.subtree_control", "envrun/cgroup.procs", "envrun/cgroup.subtree_control"] {
            fs.put(f)
        }
        for f in ["memory.max", "memory.swap.max", "pids.max", "memory.events", "memory.peak", "cgroup.procs"] {
            fs.put("envrun/\(leaf)/\(f)")
        }
        if killFile { fs.put("envrun/\(leaf)/cgroup.kill") }
        return fs
    }

    var v2Layout: CgroupLayout {
        CgroupLayout(mode: .v2, unified: root, v2Controllers: CgroupLayout.readControllers(root))
    }

    /// v1 `memory` and `pids` hierarchies under `root`, with the slot directory `leaf` in each.
    static func v1(memsw: Bool, leaf: String = "7-1") -> FakeCgroupFS {
        let fs = FakeCgroupFS()
        var memory = ["memory.limit_in_bytes", "memory.oom_control", "memory.failcnt", "memory.max_usage_in_bytes",
                      "cgroup.procs", "tasks"]
        if memsw { memory.append("memory.memsw.limit_in_bytes") }
        fs.put("memory/cgroup.procs")
        fs.put("pids/cgroup.procs")
        for f in memory { fs.put("memory/envrun/\(leaf)/\(f)") }
        for f in ["pids.max", "cgroup.procs", "tasks"] { fs.put("pids/envrun/\(leaf)/\(f)") }
        return fs
    }

    var v1Layout: CgroupLayout {
        CgroupLayout(mode: .v1, v1: ["memory": root + "/memory", "pids": root + "/pids"])
    }
}

@Suite struct CgroupV2BackendTests {
    @Test func theSubtreeEnablesMemoryPidsAndCpu() {
        let fs = FakeCgroupFS.v2()
        #expect(CgroupSlot.prepareV2Subtree(fs.v2Layout) == nil)
        #expect(fs.get("cgroup.subtree_control") == "+memory +pids +cpu")
        #expect(fs.get("envrun/cgroup.subtree_control") == "+memory +pids +cpu")
    }

    /// What is already enabled is not written again; cpu is left out where it is not offered.
    @Test func theSubtreeWritesOnlyWhatIsMissing() {
        let fs = FakeCgroupFS.v2(controllers: "memory pids io")
        defer { fs.destroy() }
        fs.put("cgroup.subtree_control", "io memory pids\n")
        #expect(CgroupSlot.prepareV2Subtree(fs.v2Layout) == nil)
        #expect(fs.get("cgroup.subtree_control") == "io memory pids\n")
        #expect(fs.get("envrun/cgroup.subtree_control") == "+memory +pids")
    }

    @Test func aHierarchyWithoutPidsIsRefusedWithTheReason() throws {
        let fs = FakeCgroupFS.v2(controllers: "cpu memory io")
        defer { fs.destroy() }
        let why = try #require(CgroupSlot.prepareV2Subtree(fs.v2Layout))
        #expect(why.contains("lacks pids"), "\(why)")
        #expect(fs.get("cgroup.subtree_control") == "")
    }

    @Test func limitsAreWrittenToTheLeaf() {
        let fs = FakeCgroupFS.v2()
        let cg = CgroupSlot(name: "7-1", layout: fs.v2Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        #expect(cg.backend == .v2)
        #expect(cg.limitsMemoryAndPids)
        #expect(cg.memoryDir == fs.root + "/envrun/7-1" && cg.pidsDir == cg.memoryDir)
        #expect(cg.procsFds.count == 1)
        #expect(cg.swapLimited)
        #expect(fs.get("envrun/7-1/memory.swap.max") == "0")
        #expect(cg.joinedAtSpawn === cg)
        cg.prepare(memoryBytes: 268_435_456, pids: 12)
        #expect(fs.get("envrun/7-1/memory.max") == "268435456")
        #expect(fs.get("envrun/7-1/pids.max") == "12")
    }

    /// v2 cannot hold a single thread: adopt is a no-op that succeeds, and the pids limit leaves
    /// the adopted thread out of the caller's count.
    @Test func adoptIsANoOpAndPidsLeaveTheThreadOut() {
        let fs = FakeCgroupFS.v2()
        let cg = CgroupSlot(name: "7-1", layout: fs.v2Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        #expect(cg.adopt(thread: pid_t(envrun_gettid())))
        #expect(!fs.exists("envrun/7-1/tasks"))
        #expect(fs.get("envrun/7-1/cgroup.procs") == "")
        cg.prepare(memoryBytes: 1 << 20, pids: 12)
        #expect(fs.get("envrun/7-1/pids.max") == "11")
    }

    @Test func countersComeFromMemoryEventsAndPeakFromMemoryPeak() {
        let fs = FakeCgroupFS.v2()
        let cg = CgroupSlot(name: "7-1", layout: fs.v2Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        fs.put("envrun/7-1/memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 3\noom_group_kill 0\n")
        #expect(cg.oomKills() == 3)
        #expect(cg.failCount() == 5)
        cg.prepare(memoryBytes: 1 << 20, pids: 4, resetPeak: true)
        #expect(fs.get("envrun/7-1/memory.peak") == "0", "the reset is a write to memory.peak")
        fs.put("envrun/7-1/memory.peak", "7340032\n")
        #expect(cg.peakBytes() == 7_340_032)
    }

    /// Before Linux 6.12 memory.peak cannot be written (here: a file root cannot open for writing):
    /// the peak is then unknown (0), and a cold run reports its rusage instead of a stale maximum.
    @Test func anUnresettablePeakIsReportedAsUnknown() throws {
        let readOnly = "/proc/sys/kernel/ngroups_max"  // mode 0444, a number: even root cannot write it
        try #require(open(readOnly, O_RDWR) < 0)
        let fs = FakeCgroupFS.v2()
        unlink(fs.root + "/envrun/7-1/memory.peak")
        #expect(symlink(readOnly, fs.root + "/envrun/7-1/memory.peak") == 0)
        let cg = CgroupSlot(name: "7-1", layout: fs.v2Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        cg.prepare(memoryBytes: 1 << 20, pids: 4, resetPeak: true)
        #expect(cg.peakBytes() == 0)
        #expect(cg.limitsMemoryAndPids)
    }

    @Test func tasksAndKillAllUseCgroupProcsAndCgroupKill() throws {
        let a = try sleeper(), b = try sleeper()
        defer { for p in [a, b] where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let fs = FakeCgroupFS.v2(killFile: false)
        let cg = CgroupSlot(name: "7-1", layout: fs.v2Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        // Our own pid (a thread of this process) is never listed as a task of the slot.
        fs.put("envrun/7-1/cgroup.procs", "\(b.processIdentifier)\n\(getpid())\n\(a.processIdentifier)\n")
        #expect(cg.tasks() == [a.processIdentifier, b.processIdentifier].sorted())
        // No cgroup.kill (before Linux 5.14): each task but the spared one is SIGKILLed.
        #expect(cg.killAll(sparing: a.processIdentifier) == 1)
        b.waitUntilExit()
        #expect(b.terminationReason == .uncaughtSignal && b.terminationStatus == SIGKILL)
        #expect(a.isRunning)
        // With cgroup.kill and nothing to spare, one write of "1" kills the whole cgroup.
        fs.put("envrun/7-1/cgroup.kill")
        fs.put("envrun/7-1/cgroup.procs", "\(a.processIdentifier)\n")
        #expect(cg.killAll() == 1)
        #expect(fs.get("envrun/7-1/cgroup.kill") == "1")
        // Sparing a task never writes cgroup.kill (it would kill the spared one too).
        fs.put("envrun/7-1/cgroup.kill")
        #expect(cg.killAll(sparing: a.processIdentifier) == 0)
        #expect(fs.get("envrun/7-1/cgroup.kill") == "")
        #expect(a.isRunning)
    }

    @Test func removeDeletesTheLeafOnly() {
        let fs = FakeCgroupFS.v2()
        let cg = CgroupSlot(name: "7-1", layout: fs.v2Layout)
        // The kernel's files go with the directory; the fake's must be deleted by hand first.
        for f in (try? FileManager.default.contentsOfDirectory(atPath: fs.root + "/envrun/7-1")) ?? [] {
            unlink(fs.root + "/envrun/7-1/" + f)
        }
        cg.remove()
        #expect(!fs.exists("envrun/7-1"))
        #expect(fs.exists("envrun/cgroup.subtree_control"))
    }

    func sleeper() throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sleep")
        p.arguments = ["30"]
        try p.run()
        return p
    }
}

@Suite struct CgroupV1BackendTests {
    @Test func memswFollowsTheMemoryLimitWhenSwapIsAccounted() {
        let fs = FakeCgroupFS.v1(memsw: true)
        let cg = CgroupSlot(name: "7-1", layout: fs.v1Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        #expect(cg.backend == .v1 && cg.limitsMemoryAndPids && cg.swapLimited)
        #expect(cg.procsFds.count == 2)
        #expect(cg.joinedAtSpawn == nil)
        cg.prepare(memoryBytes: 134_217_728, pids: 9)
        #expect(fs.get("memory/envrun/7-1/memory.limit_in_bytes") == "134217728")
        #expect(fs.get("memory/envrun/7-1/memory.memsw.limit_in_bytes") == "134217728")
        #expect(fs.get("pids/envrun/7-1/pids.max") == "9")
    }

    /// Without swap accounting there is no memsw file: it is skipped (and not created).
    @Test func noMemswFileIsSkippedSilently() {
        let fs = FakeCgroupFS.v1(memsw: false)
        let cg = CgroupSlot(name: "7-1", layout: fs.v1Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        #expect(cg.limitsMemoryAndPids && !cg.swapLimited)
        cg.prepare(memoryBytes: 134_217_728, pids: 9)
        #expect(fs.get("memory/envrun/7-1/memory.limit_in_bytes") == "134217728")
        #expect(!fs.exists("memory/envrun/7-1/memory.memsw.limit_in_bytes"))
    }

    @Test func adoptMovesTheThreadIntoBothHierarchiesAndPidsKeepIt() {
        let fs = FakeCgroupFS.v1(memsw: true)
        let cg = CgroupSlot(name: "7-1", layout: fs.v1Layout)
        defer { cg.remove() }
        defer { fs.destroy() }  // first, so that remove() finds no directory to wait for
        #expect(cg.adopt(thread: 4242))
        #expect(fs.get("memory/envrun/7-1/tasks") == "4242" && fs.get("pids/envrun/7-1/tasks") == "4242")
        cg.prepare(memoryBytes: 1 << 20, pids: 12)
        #expect(fs.get("pids/envrun/7-1/pids.max") == "12")
        fs.put("memory/envrun/7-1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n")
        fs.put("memory/envrun/7-1/memory.failcnt", "6\n")
        #expect(cg.oomKills() == 4 && cg.failCount() == 6)
    }
}
