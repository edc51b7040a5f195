import CEnvrunSandbox
import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The warm Python worker of one slot: `Sandbox/warm/zygote.py` started once as pid 1 of a full
/// sandbox (namespaces, slot uid, the language's seccomp filter, empty environment). It forks one
/// child per job; the job's stdin/stdout/stderr pipes travel over SCM_RIGHTS, so the worker never
/// holds the job's input. Recycled every `recycleAfter` jobs, replaced when it dies or is killed
/// (wall timeout, output overflow).
final class WarmWorker: @unchecked Sendable {
    let pid: pid_t
    private let control: Int32
    private var spawnResult: envrun_spawn_result
    private(set) var jobs = 0
    private(set) var alive = true

    private init(pid: pid_t, control: Int32, spawnResult: envrun_spawn_result) {
        self.pid = pid
        self.control = control
        self.spawnResult = spawnResult
    }

    /// Starts a worker in `slot`. Returns nil and an error text when the sandbox set-up failed.
    /// `harness`: the assert-test harness bundle the worker loads once (its argument), so that a job whose
    /// program is that bundle forks the loaded supervisor instead of compiling and importing it again.
    static func start(slot: Slot, layout: SandboxLayout, source: String, harness: String?, program: SeccompProgram)
        -> (WarmWorker?, String?)
    {
        var sp: [Int32] = [-1, -1]
        guard envrun_socketpair_cloexec(&sp) == 0 else { return (nil, "socketpair: \(String(cString: strerror(errno)))") }
        let devnull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            close(devnull)
            close(sp[1])
        }
        // The worker has no limits of its own beyond the sandbox; each job child sets the job's.
        let limits = envrun_rlimits(cpu_sec: -1, as_bytes: -1, fsize_bytes: -1, nofile: -1, nproc: -1,
                                    stack_bytes: -1, core_bytes: 0)
        slot.warmCgroup?.prepare(memoryBytes: 512 * 1_048_576, pids: 64)
        var (rc, res, err) = spawnSandbox(
            argv: ["/usr/bin/python3", "-I", "-c", source] + (harness.map { [$0] } ?? []), slot: slot, layout: layout, limits: limits,
            program: program, stdio: (devnull, devnull, devnull), keepFd: sp[1], withInit: false, cgroup: slot.warmCgroup)
        if rc != 0 {
            close(sp[0])
            if rc == 1 {
                kill(res.pid, SIGKILL)
                _ = envrun_reap(res.pid, nil, nil, nil)
                envrun_spawn_release(&res)
            }
            return (nil, "warm worker: \(err)")
        }
        let worker = WarmWorker(pid: res.pid, control: sp[0], spawnResult: res)
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { envrun_recv_timeout(sp[0], $0.baseAddress, 256, 10_000) }
        guard n > 0, String(decoding: buf[0..<n], as: UTF8.self).contains("ready") else {
            worker.stop()
            return (nil, "warm worker did not start (python3 failed in the sandbox)")
        }
        return (worker, nil)
    }

    /// Runs one job (blocking). The program is already in the slot's work dir. `harness`: the program is the
    /// harness bundle this worker was started with; the job runs the loaded copy.
    func run(_ spec: PhaseSpec, file: String, harness: Bool = false, slot: Slot) -> RawOutcome {
        var out = RawOutcome()
        jobs += 1
        let cg = slot.warmCgroup
        // No peak reset: a warm job's peak is its own rusage (the cgroup also holds the worker).
        cg?.prepare(memoryBytes: (spec.limits.memoryMB + spec.cgroupExtraMB) * 1_048_576,
                    pids: spec.limits.processes + 1, resetPeak: false)
        let oomBefore = cg?.oomKills() ?? 0
        let failBefore = cg?.failCount() ?? 0
        let cpu = RunCPU(cg, slotThreadIsMember: false)
        guard var pipes = StdioPipes.make() else {
            out.sandboxError = "pipe: \(String(cString: strerror(errno)))"
            return out
        }
        let l = rlimits(for: spec.limits, addressSpace: spec.addressSpaceLimit)
        // The zygote is one more process of the slot uid: the job gets the same count as cold.
        // Built by hand: JSONSerialization cost ~0.1 ms per job, as much as the rest of this side.
        let msg = Array(("{\"file\": \"\(Self.jsonEscaped(file))\", \"cpu_sec\": \(l.cpu_sec), \"as_bytes\": \(l.as_bytes), "
            + "\"fsize_bytes\": \(l.fsize_bytes), \"nofile\": \(l.nofile), \"nproc\": \(l.nproc + 1), "
            + "\"stack_bytes\": \(l.stack_bytes), \"core_bytes\": 0\(harness ? ", \"harness\": true" : "")}").utf8)
        let fds = [pipes.stdinRead, pipes.stdoutWrite, pipes.stderrWrite]
        let sent = msg.withUnsafeBytes { envrun_send_fds(control, $0.baseAddress, $0.count, fds, 3) }
        pipes.closeChildEnds()
        guard sent == 0 else {
            pipes.closeAll()
            stop()
            out.sandboxError = "warm worker: send: \(String(cString: strerror(errno)))"
            out.notDelivered = true
            return out
        }
        if !supervise(doneFd: control, killPid: pid, pipes: &pipes, stdin: spec.stdin, limits: spec.limits,
                      into: &out) {
            out.sandboxError = "supervise: \(String(cString: strerror(errno)))"
        }
        pipes.closeAll()
        if out.end != Int32(ENVRUN_END_EXITED) || out.sandboxError != nil {
            // Killed on wall timeout or output overflow: the worker's namespace is gone.
            stop()
        } else {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { envrun_recv(control, $0.baseAddress, 4096) }
            switch n > 0 ? WorkerReport(buf[0..<n]) : nil {
            case .finished(let status, let cpuUs, let maxRssKb, let retire)?:
                out.status = status
                out.cpuMs = Double(cpuUs) / 1000
                out.maxRssKb = maxRssKb
                // The worker could not clear what the job left (SysV IPC) and exits: the job's
                // result stands, the next job gets a new worker.
                if retire { stop() }
            case .failed(let why)?:
                out.sandboxError = "warm worker: \(why)"
            case nil:
                stop()
                out.sandboxError = "warm worker died during the job"
                out.workerDied = true
            }
        }
        if out.workerDied, (cg?.oomKills() ?? 0) > oomBefore {
            // The cgroup's OOM killer chose the worker: the job exceeded its memory.
            out.sandboxError = nil
            out.workerDied = false
            out.status = SIGKILL
        }
        if let cg {
            out.oomKilled = cg.oomKills() > oomBefore
            out.memoryFailures = cg.failCount() - failBefore
            // The worker's cgroup also counts the worker (its fork and clean-up, ~0.3 ms a job).
            out.cpuMs = max(out.cpuMs, cpu.elapsedMs())
            if alive, cg.killAll(sparing: pid) > 0, out.sandboxError == nil {
                out.sandboxError = "processes survived the job"
            }
        }
        return out
    }

    static func jsonEscaped(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// False once the worker process has ended (killed or crashed while idle), without reaping it.
    var running: Bool {
        guard alive else { return false }
        var p = pollfd(fd: spawnResult.pidfd, events: Int16(POLLIN), revents: 0)
        if spawnResult.pidfd >= 0 { return poll(&p, 1, 0) == 0 }
        return kill(pid, 0) == 0
    }

    /// Kills the worker (its pid namespace dies with it) and reaps it.
    func stop() {
        guard alive else { return }
        alive = false
        kill(pid, SIGKILL)
        _ = envrun_reap(pid, nil, nil, nil)
        close(control)
        envrun_spawn_release(&spawnResult)
    }

    deinit { stop() }
}

/// What the zygote says after a job, one line: "done <wait status> <cpu us> <maxrss kb> <retire>"
/// or "error <text>".
enum WorkerReport: Equatable {
    case finished(status: Int32, cpuUs: Int, maxRssKb: Int, retire: Bool)
    case failed(String)

    init?(_ bytes: ArraySlice<UInt8>) {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("error ") {
            self = .failed(String(text.dropFirst(6)))
            return
        }
        let f = text.split(separator: " ")
        guard f.count == 5, f[0] == "done", let st = Int32(f[1]), let cpu = Int(f[2]), let rss = Int(f[3]),
            let retire = Int(f[4])
        else { return nil }
        self = .finished(status: st, cpuUs: cpu, maxRssKb: rss, retire: retire != 0)
    }
}
