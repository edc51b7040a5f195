import CEnvrunSandbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One isolation layer and whether this machine gives it to us.
public struct SandboxLayer: Sendable, Equatable, Codable {
    public var name: String
    public var active: Bool
    public var detail: String
}

/// What the kernel and the machine offer, probed once (the executor uses what works; `envrun
/// doctor` prints it).
public struct SandboxCapabilities: Sendable {
    public var namespaceFlags: Int32
    /// cgroup memory and pids limits work (v1 or v2, see `CgroupLayout`).
    public var cgroupsUsable: Bool
    /// What is missing when they do not (named in the executor's fail-closed error).
    public var cgroupProblem: String?
    public var layers: [SandboxLayer]

    public static func detect() -> SandboxCapabilities {
        var layers: [SandboxLayer] = []
        let root = geteuid() == 0
        layers.append(SandboxLayer(name: "root privileges", active: root,
                                   detail: root ? "euid 0: can create namespaces, mounts, cgroups and drop to slot uids"
                                       : "not root: the sandbox cannot start"))
        var flags: Int32 = 0
        let names: [(Int32, String)] = [
            (Int32(ENVRUN_NS_PID), "pid"), (Int32(ENVRUN_NS_NET), "net"), (Int32(ENVRUN_NS_MOUNT), "mount"),
            (Int32(ENVRUN_NS_IPC), "ipc"), (Int32(ENVRUN_NS_UTS), "uts"), (Int32(ENVRUN_NS_USER), "user"),
        ]
        for (f, n) in names {
            var err = [CChar](repeating: 0, count: 128)
            let ok = envrun_probe_namespaces(f, &err, err.count) == 1
            if ok { flags |= f }
            let what: String
            switch n {
            case "pid": what = "own pid 1 (a C init); the tree dies with it; /proc shows only the job"
            case "net": what = "one per slot, joined by each run: no device but a downed loopback, no route anywhere"
            case "mount": what = "a read-only tmpfs root per slot (read-only binds of /usr and a few /etc files), each run in a private copy with its own /proc"
            case "ipc": what = "private SysV IPC per run (warm: per worker, emptied after each job)"
            case "uts": what = "hostname 'envrun'"
            default: what = "the job's uid maps to itself in a namespace of its own (no capability anywhere)"
            }
            layers.append(SandboxLayer(name: "\(n) namespace", active: ok,
                                       detail: ok ? what : "unshare failed: \(cErrorText(err))"))
        }
        let actions = (try? String(contentsOfFile: "/proc/sys/kernel/seccomp/actions_avail", encoding: .utf8)) ?? ""
        let seccompOk = actions.contains("kill_process") && actions.contains("errno")
        layers.append(SandboxLayer(
            name: "seccomp", active: seccompOk,
            detail: seccompOk ? "allow-list filter (Sandbox/seccomp/default.json), compiled once, loaded last before execve"
                : "kernel lacks SECCOMP_RET_KILL_PROCESS (actions: \(actions.trimmingCharacters(in: .whitespacesAndNewlines)))"))
        let cgroups = CgroupProbe.run(layout: .current, root: root)
        layers += cgroups.layers
        layers.append(SandboxLayer(name: "non-root uid", active: root,
                                   detail: "each slot runs as uid 60000 + 64*lease + slot (RLIMIT_NPROC binds)"))
        layers.append(SandboxLayer(name: "rlimits", active: true,
                                   detail: "CPU (soft = hard, whole seconds; the rusage total is judged in ms), address space (not node), file size, open files, processes, core 0"))
        layers.append(SandboxLayer(name: "no_new_privs", active: true, detail: "set before seccomp; setuid binaries cannot raise privileges"))
        return SandboxCapabilities(namespaceFlags: flags, cgroupsUsable: cgroups.problem == nil,
                                   cgroupProblem: cgroups.problem, layers: layers)
    }
}
