import CEnvrunSandbox
import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What every sandbox of this executor shares: the namespaces that work here, the mount point of
/// the fresh root, the read-only host paths and the environment.
struct SandboxLayout: Sendable {
    var nsFlags: Int32
    var rootDir: String
    var readOnlyPaths: [String]
    /// (link, target) for host paths that are symlinks (merged /usr: /bin -> usr/bin).
    var symlinks: [(String, String)]
    var environment: [String]
    /// An fd of `envrun-init` (see `InitProgram`), exec'd by every cold run's pid 1.
    var initFd: Int32

    init(nsFlags: Int32, rootDir: String, mounts: [String], environment: [String: String], initFd: Int32) {
        self.nsFlags = nsFlags
        self.initFd = initFd
        self.rootDir = rootDir
        var ro: [String] = []
        var links: [(String, String)] = []
        let fm = FileManager.default
        for p in mounts {
            if let target = try? fm.destinationOfSymbolicLink(atPath: p) {
                links.append((p, target))
            } else if fm.fileExists(atPath: p) {
                ro.append(p)
            }
        }
        readOnlyPaths = ro
        symlinks = links
        self.environment = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}

/// NULL-terminated C string arrays that live as long as this object.
final class CStrings {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]
    init(_ strings: [String]) { pointers = strings.map { strdup($0) } + [nil] }
    deinit { pointers.forEach { free($0) } }
    func withArray<R>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// One program to start in a slot.
struct PhaseSpec {
    var argv: [String]
    var limits: PhaseLimits
    var addressSpaceLimit: Bool
    var program: SeccompProgram
    var stdin: [UInt8]
    /// Memory cgroup limit = memory + this (the slot tmpfs and the warm worker share the cgroup).
    var cgroupExtraMB: Int
}

/// How a run ended, before it is turned into a verdict.
struct RawOutcome {
    var status: Int32?
    var end: Int32 = Int32(ENVRUN_END_EXITED)
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var truncated = false
    var cpuMs: Double = 0
    var wallMs: Double = 0
    var maxRssKb = 0
    var oomKilled = false
    var memoryFailures = 0
    /// Our fault: the failing step and errno, or the internal error.
    var sandboxError: String?
    /// Warm: the job never reached the worker (it had died): safe to send again to a new one.
    var notDelivered = false
    /// Warm: the worker ended during the job, not by the memory cgroup (killed from outside,
    /// crashed): the job is run again, cold.
    var workerDied = false
}

func rlimits(for l: PhaseLimits, addressSpace: Bool) -> envrun_rlimits {
    let mb: Int64 = 1_048_576
    return envrun_rlimits(
        cpu_sec: Int64((l.cpuMs + 999) / 1000), as_bytes: addressSpace ? Int64(l.memoryMB) * mb : -1,
        fsize_bytes: Int64(l.fileSizeMB) * mb, nofile: Int64(l.openFiles), nproc: Int64(l.processes),
        stack_bytes: Int64(l.stackMB) * mb, core_bytes: 0)
}

/// Starts a sandbox in `slot` (blocking until the child has finished its set-up). `withInit`:
/// cold runs get a C init as pid 1; the warm worker is pid 1 itself.
func spawnSandbox(
    argv: [String], slot: Slot, layout: SandboxLayout, limits: envrun_rlimits, program: SeccompProgram,
    stdio: (Int32, Int32, Int32), keepFd: Int32, withInit: Bool, cgroup: CgroupSlot?
) -> (rc: Int32, result: envrun_spawn_result, error: String) {
    var result = envrun_spawn_result()
    var err = [CChar](repeating: 0, count: 256)
    let cgFds = cgroup?.procsFds ?? []
    let rc: Int32 = withSpawnConfig(argv: argv, slot: slot, layout: layout) { cfg in
        cgFds.withUnsafeBufferPointer { cgP in
            cfg.stdin_fd = stdio.0
            cfg.stdout_fd = stdio.1
            cfg.stderr_fd = stdio.2
            cfg.keep_fd = keepFd
            cfg.with_init = withInit ? 1 : 0
            cfg.cgroup_fds = cgP.baseAddress
            cfg.cgroup_fd_count = Int32(cgFds.count)
            cfg.limits = limits
            cfg.filter = UnsafePointer(program.bpf)
            // Cold runs join the slot's network namespace and start from the slot's root; the warm
            // worker (started rarely) gets new ones of its own.
            cfg.net_ns_fd = withInit ? slot.netns : -1
            cfg.mnt_ns_fd = withInit ? slot.rootns : -1
            return envrun_spawn(&cfg, &result, &err, err.count)
        }
    }
    return (rc, result, cErrorText(err))
}

/// The slot's root, built once in a mount namespace of its own (an fd; each cold run's pid 1
/// enters a private copy of it). Throws with the failing step.
func makeSlotRoot(slot: Slot, layout: SandboxLayout) throws -> Int32 {
    var err = [CChar](repeating: 0, count: 256)
    let fd = withSpawnConfig(argv: ["/"], slot: slot, layout: layout) { cfg in
        envrun_root_ns_create(&cfg, &err, err.count)
    }
    guard fd >= 0 else {
        throw EnvrunError(.unavailable, "cannot build the sandbox root of slot \(slot.index): \(cErrorText(err))")
    }
    return fd
}

/// An `envrun_spawn_config` with the slot's and the layout's paths filled in (valid inside `body`).
func withSpawnConfig<R>(argv: [String], slot: Slot, layout: SandboxLayout,
                        _ body: (inout envrun_spawn_config) -> R) -> R
{
    let cArgv = CStrings(argv)
    let cEnv = CStrings(layout.environment)
    let cRo = CStrings(layout.readOnlyPaths)
    let cLinks = CStrings(layout.symlinks.flatMap { [$0.0, $0.1] })
    return cArgv.withArray { argvP in
        cEnv.withArray { envP in
            cRo.withArray { roP in
                cLinks.withArray { linksP in
                    layout.rootDir.withCString { rootP in
                        slot.workDir.withCString { workP in
                            slot.tmpDir.withCString { tmpP in
                                var cfg = envrun_spawn_config()
                                cfg.path = UnsafePointer(argvP[0])
                                cfg.argv = argvP
                                cfg.envp = envP
                                cfg.stdin_fd = -1
                                cfg.stdout_fd = -1
                                cfg.stderr_fd = -1
                                cfg.keep_fd = -1
                                cfg.net_ns_fd = -1
                                cfg.mnt_ns_fd = -1
                                cfg.init_fd = layout.initFd
                                cfg.ns_flags = layout.nsFlags
                                cfg.uid = slot.uid
                                cfg.gid = slot.gid
                                cfg.root_dir = rootP
                                cfg.work_src = workP
                                cfg.tmp_src = tmpP
                                cfg.ro_paths = UnsafeRawPointer(roP).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
                                cfg.symlinks = UnsafeRawPointer(linksP).assumingMemoryBound(
                                    to: UnsafePointer<CChar>?.self)
                                return body(&cfg)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Pipes for stdin, stdout, stderr: (parent end, child end) each.
struct StdioPipes {
    var stdinWrite: Int32 = -1, stdinRead: Int32 = -1
    var stdoutRead: Int32 = -1, stdoutWrite: Int32 = -1
    var stderrRead: Int32 = -1, stderrWrite: Int32 = -1

    static func make() -> StdioPipes? {
        var a: [Int32] = [-1, -1], b: [Int32] = [-1, -1], c: [Int32] = [-1, -1]
        guard envrun_pipe_cloexec(&a) == 0 else { return nil }
        guard envrun_pipe_cloexec(&b) == 0 else {
            a.forEach { close($0) }
            return nil
        }
        guard envrun_pipe_cloexec(&c) == 0 else {
            (a + b).forEach { close($0) }
            return nil
        }
        return StdioPipes(stdinWrite: a[1], stdinRead: a[0], stdoutRead: b[0], stdoutWrite: b[1],
                          stderrRead: c[0], stderrWrite: c[1])
    }

    mutating func closeChildEnds() {
        for fd in [stdinRead, stdoutWrite, stderrWrite] where fd >= 0 { close(fd) }
        stdinRead = -1
        stdoutWrite = -1
        stderrWrite = -1
    }

    mutating func closeAll() {
        closeChildEnds()
        for fd in [stdinWrite, stdoutRead, stderrRead] where fd >= 0 { close(fd) }
        stdinWrite = -1
        stdoutRead = -1
        stderrRead = -1
    }
}

/// Feeds stdin and drains the output until `doneFd` fires (blocking; on the slot's thread).
func supervise(doneFd: Int32, killPid: pid_t, pipes: inout StdioPipes, stdin: [UInt8], limits: PhaseLimits,
               into out: inout RawOutcome) -> Bool {
    var io = envrun_supervise_io()
    io.done_fd = doneFd
    io.kill_pid = killPid
    io.stdin_fd = pipes.stdinWrite
    io.stdout_fd = pipes.stdoutRead
    io.stderr_fd = pipes.stderrRead
    io.output_cap = limits.outputBytes
    io.wall_ms = Int64(limits.wallMs)
    let rc = stdin.withUnsafeBufferPointer { buf -> Int32 in
        io.stdin_data = UnsafeRawPointer(buf.baseAddress)?.assumingMemoryBound(to: CChar.self)
        io.stdin_length = buf.count
        return envrun_supervise(&io)
    }
    // envrun_supervise closed the parent ends.
    pipes.stdinWrite = -1
    pipes.stdoutRead = -1
    pipes.stderrRead = -1
    func take(_ b: inout envrun_buffer) -> [UInt8] {
        defer { envrun_buffer_free(&b) }
        guard let p = b.data, b.length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: b.length))
    }
    out.stdout = take(&io.out)
    out.stderr = take(&io.err)
    out.truncated = io.truncated != 0
    out.end = io.end
    out.wallMs = io.wall_elapsed_ms
    return rc == 0
}

/// The CPU a run used by the slot cgroup's accounting: every process of the run, the ones the job
/// never waited for too (rusage counts only waited-for children). Where the slot thread is a member
/// of the cgroup (cold, v1), its own CPU over the same span is taken off. Read on the slot thread.
struct RunCPU {
    let cgroup: CgroupSlot?
    let start: Int?
    let threadStart: Int
    let threadIsMember: Bool

    /// `slotThreadIsMember`: the cold cgroups on v1 hold the slot thread; the warm ones never do.
    init(_ cgroup: CgroupSlot?, slotThreadIsMember: Bool) {
        self.cgroup = cgroup
        threadIsMember = slotThreadIsMember && cgroup?.backend != .v2
        start = cgroup?.cpuNanoseconds()
        threadStart = Self.threadNanoseconds()
    }

    /// Milliseconds since init (0 without the layer).
    func elapsedMs() -> Double {
        guard let start, let now = cgroup?.cpuNanoseconds() else { return 0 }
        let ours = threadIsMember ? Self.threadNanoseconds() - threadStart : 0
        return Double(max(0, now - start - ours)) / 1e6
    }

    static func threadNanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }
}

/// A cold run: a fresh sandbox (C init + the program) for this one run.
func runCold(_ spec: PhaseSpec, slot: Slot, layout: SandboxLayout) -> RawOutcome {
    var out = RawOutcome()
    // The previous run's pid 1 may still be tearing its namespaces down: it leaves first.
    slot.reapPending()
    let cg = slot.cgroup
    // pids: the job's processes + the C init + the slot thread (a member since adopt(thread:)).
    cg?.prepare(memoryBytes: (spec.limits.memoryMB + spec.cgroupExtraMB) * 1_048_576, pids: spec.limits.processes + 2)
    let oomBefore = cg?.oomKills() ?? 0
    let failBefore = cg?.failCount() ?? 0
    let cpu = RunCPU(cg, slotThreadIsMember: true)
    guard var pipes = StdioPipes.make() else {
        out.sandboxError = "pipe: \(String(cString: strerror(errno)))"
        return out
    }
    var limits = rlimits(for: spec.limits, addressSpace: spec.addressSpaceLimit)
    // RLIMIT_NPROC counts every process of the uid: a live warm worker of the slot is one.
    if slot.warm?.alive == true { limits.nproc += 1 }
    var (rc, res, err) = spawnSandbox(
        argv: spec.argv, slot: slot, layout: layout, limits: limits, program: spec.program,
        stdio: (pipes.stdinRead, pipes.stdoutWrite, pipes.stderrWrite), keepFd: -1, withInit: true, cgroup: cg?.joinedAtSpawn)
    pipes.closeChildEnds()
    if rc < 0 {
        pipes.closeAll()
        out.sandboxError = err
        return out
    }
    if rc == 1 {
        // A set-up step failed inside the sandbox: our fault, reported with its step and errno.
        pipes.closeAll()
        kill(res.pid, SIGKILL)
        _ = envrun_reap(res.pid, nil, nil, nil)
        envrun_spawn_release(&res)
        out.sandboxError = err
        return out
    }
    // pid 1 writes the job's status once the job and everything it left are dead and reaped; its
    // own exit (namespace teardown) is reaped later, off the caller's path.
    if !supervise(doneFd: res.report_fd, killPid: res.pid, pipes: &pipes, stdin: spec.stdin, limits: spec.limits,
                  into: &out) {
        kill(res.pid, SIGKILL)
        out.sandboxError = "supervise: \(String(cString: strerror(errno)))"
    }
    pipes.closeAll()
    var rep = envrun_report()
    if out.end == Int32(ENVRUN_END_EXITED) { _ = envrun_read_record(res.report_fd, &rep) }
    slot.pendingReap = res
    if rep.kind == 2 {
        let step = withUnsafeBytes(of: rep.step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        out.sandboxError = "\(step): \(String(cString: strerror(rep.err_no)))"
    } else if rep.kind == 1 {
        out.status = rep.status
        out.cpuMs = Double(rep.utime_us + rep.stime_us) / 1000
        out.maxRssKb = Int(rep.maxrss_kb)
    } else if out.end == Int32(ENVRUN_END_EXITED) && out.sandboxError == nil {
        if let cg, cg.oomKills() > oomBefore {
            // The memory cgroup's OOM killer took the init (it asks not to be chosen): the run
            // ended because the job filled its memory.
            out.status = SIGKILL
        } else {
            out.sandboxError = "the sandbox init ended without a report"
        }
    }
    if out.end != Int32(ENVRUN_END_EXITED) { slot.reapPending() }
    if let cg {
        // The job's rusage maxrss also counts the memory it shared with this process before its
        // execve (CLONE_VM), so the cgroup's peak (reset before the run) is the honest figure.
        let peak = cg.peakBytes() / 1024
        if peak > 0 { out.maxRssKb = peak }
        out.oomKilled = cg.oomKills() > oomBefore
        out.memoryFailures = cg.failCount() - failBefore
        out.cpuMs = max(out.cpuMs, cpu.elapsedMs())
        // Only pid 1 (exiting) may still be there; anything else is killed and reported.
        if cg.killAll(sparing: slot.pendingReap?.pid) > 0 && out.sandboxError == nil {
            out.sandboxError = "processes survived the run"
        }
    }
    return out
}

/// The text a C function wrote into `buffer` (NUL-terminated, or the whole buffer).
func cErrorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
