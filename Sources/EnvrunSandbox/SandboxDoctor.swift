import EnvrunCore
import Foundation

/// `envrun doctor`: the probed layers plus end-to-end runs through the real executor.
public enum SandboxDoctor {
    public struct Report: Sendable {
        public var layers: [SandboxLayer]
        /// Root, seccomp and the pid/mount/net namespaces work, and both end-to-end runs passed.
        public var healthy: Bool
    }

    public static func run(policyDirectory: URL? = nil) async -> Report {
        var layers = SandboxCapabilities.detect().layers
        let required = ["root privileges", "seccomp", "pid namespace", "mount namespace", "net namespace",
                        "cgroup requirement"]
        var healthy = layers.filter { required.contains($0.name) }.allSatisfy(\.active)
        do {
            // Without cgroups serve and exec refuse (the "cgroup requirement" line says so); the
            // end-to-end runs still check the other layers.
            let config = SandboxConfiguration(policyDirectory: policyDirectory, slots: 1, warmPool: true,
                                              requireCgroups: false)
            let ex = try SandboxExecutor(configuration: config)
            layers.append(SandboxLayer(name: "policy", active: true, detail: ex.policy.directory.path
                + " (languages: \(Set(ex.policy.languages.values.map(\.id)).sorted().joined(separator: ", ")))"))
            let probe = """
                import os, socket
                try:
                    socket.socket(socket.AF_UNIX).close()
                    print(os.getuid(), os.getpid(), sorted(os.listdir('/')))
                except Exception as e:
                    print('error', e)
                """
            for warm in [false, true] {
                let r = await ex.run(ExecRequest(language: "python", source: probe), warm: warm)
                let ok = r.verdict == .ok && !r.stdout.hasPrefix("error")
                healthy = healthy && ok
                layers.append(SandboxLayer(
                    name: warm ? "warm pool (python)" : "cold run (python)", active: ok,
                    detail: ok ? String(format: "ok in %.1f ms: uid, pid, root entries = %@", r.wallMs,
                                        r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                        : "\(r.verdict.rawValue): \(r.detail ?? r.stderr)"))
            }
            let denied = await ex.run(ExecRequest(language: "python", source: "import socket\nsocket.socket()\n"), warm: false)
            let sv = denied.verdict == .securityViolation
            healthy = healthy && sv
            layers.append(SandboxLayer(name: "seccomp end-to-end", active: sv,
                                       detail: sv ? "an AF_INET socket() was killed (security_violation)"
                                           : "expected security_violation, got \(denied.verdict.rawValue)"))
            await ex.shutdown()
        } catch {
            healthy = false
            layers.append(SandboxLayer(name: "executor", active: false, detail: "\(error)"))
        }
        return Report(layers: layers, healthy: healthy)
    }
}
