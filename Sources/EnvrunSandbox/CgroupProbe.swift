import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Which cgroup layers this machine gives the sandbox, for `SandboxCapabilities` and `envrun doctor`.
/// The v2 probe prepares the delegated subtree (`<unified>/envrun`, idempotent), as the slots will.
struct CgroupProbe {
    var layers: [SandboxLayer]
    /// nil when memory and pids limits work; else what is missing (the fail-closed error says it).
    var problem: String?

    static func run(layout: CgroupLayout, root: Bool) -> CgroupProbe {
        var layers: [SandboxLayer] = []
        var missing: [String: String] = [:]
        let backend = layout.backend
        layers.append(SandboxLayer(
            name: "cgroup layout", active: backend != nil,
            detail: layout.summary + (backend.map { "; using \($0.rawValue)" } ?? "; no hierarchy offers both memory and pids")))
        switch backend {
        case .v2:
            let sub = layout.v2Subtree ?? ""
            let why = root ? CgroupSlot.prepareV2Subtree(layout) : "not root"
            let enabled = Set((CgroupSlot.read(sub + "/cgroup.subtree_control") ?? "").split(whereSeparator: \.isWhitespace)
                .map { String($0.drop { $0 == "+" }) })
            let files: [String: String] = [
                "memory": "memory.max, memory.swap.max, OOM kills and limit hits (memory.events), peak (memory.peak, reset per run from Linux 6.12)",
                "pids": "pids.max",
            ]
            for ctl in CgroupLayout.required {
                let ok = why == nil && enabled.contains(ctl)
                if !ok { missing[ctl] = why ?? "\(ctl) is not enabled in \(sub)/cgroup.subtree_control" }
                layers.append(SandboxLayer(
                    name: "cgroup v2 \(ctl)", active: ok,
                    detail: ok ? "per-slot leaves \(sub)/<lease>-<slot>(w) of the delegated subtree (subtree_control: "
                        + "\(enabled.sorted().joined(separator: " "))): \(files[ctl]!)" : missing[ctl]!))
            }
            layers.append(swapLayer(exists: access(sub + "/memory.swap.max", F_OK) == 0, file: "memory.swap.max",
                                    set: "memory.swap.max = 0 per slot: no swap"))
        case .v1, nil:
            let files = [
                "memory": "memory.limit_in_bytes, OOM kills (memory.oom_control), peak (memory.max_usage_in_bytes)",
                "pids": "pids.max",
            ]
            for ctl in CgroupLayout.required {
                let dir = layout.v1[ctl]
                let ok = root && dir.map { access($0 + "/cgroup.procs", W_OK) == 0 } == true
                if !ok {
                    missing[ctl] = dir.map { root ? "\($0) is not a writable cgroup v1 hierarchy" : "not root" }
                        ?? (layout.unified != nil && layout.v2Controllers.contains(ctl)
                            ? "\(ctl) is in the v2 hierarchy but the other controller is not (mixed layouts are not supported)"
                            : "no cgroup hierarchy offers \(ctl)")
                }
                layers.append(SandboxLayer(
                    name: "cgroup v1 \(ctl)", active: ok,
                    detail: ok ? "per-slot \(dir!)/envrun/<lease>-<slot>(w), created once and reused: \(files[ctl]!)"
                        : missing[ctl]!))
            }
            if let m = layout.v1["memory"] {
                layers.append(swapLayer(exists: access(m + "/memory.memsw.limit_in_bytes", F_OK) == 0,
                                        file: "memory.memsw.limit_in_bytes",
                                        set: "memory.memsw.limit_in_bytes = the memory limit: no swap beyond it"))
            }
        }
        let problem: String? =
            missing.isEmpty ? nil
            : CgroupLayout.required.compactMap { c in missing[c].map { "\(c): \($0)" } }.joined(separator: "; ")
        layers.append(SandboxLayer(
            name: "cgroup requirement", active: problem == nil,
            detail: problem == nil
                ? "memory and pids limits work: envrun serve and exec start (without them they refuse unless --allow-no-cgroups)"
                : "envrun serve and exec refuse to start without memory and pids limits; --allow-no-cgroups overrides "
                    + "(jobs are then bounded by rlimits only)"))
        return CgroupProbe(layers: layers, problem: problem)
    }

    /// Swap accounting is optional (the kernel's `swapaccount`); without it a job could swap past
    /// its memory limit when the machine has swap.
    private static func swapLayer(exists: Bool, file: String, set: String) -> SandboxLayer {
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let swapKb = meminfo.split(separator: "\n").first { $0.hasPrefix("SwapTotal:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        let note = swapKb == 0 ? " (this machine has no swap)" : " (\(swapKb / 1024) MB of swap here)"
        return SandboxLayer(
            name: "cgroup swap limit", active: exists,
            detail: exists ? set + note
                : "no \(file): swap accounting is off (boot with swapaccount=1); memory beyond the limit may go to swap" + note)
    }
}
