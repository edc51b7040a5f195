import EnvrunCore
import EnvrunSandbox
import EnvrunServer
import Foundation
import Logging
import Testing

@Suite struct WiringTests {
    /// A sandbox that cannot start at all (not root) leaves the server serving rule rewards; one that
    /// could start but without cgroup memory and pids limits stops `envrun serve` from starting.
    @Test func serveRefusesASandboxWithoutCgroups() async throws {
        guard geteuid() == 0 else {
            print("skip: needs root (the sandbox must be able to start)")
            return
        }
        do {
            let parts = try await ServerWiring.make(
                packsDirectory: nil, sandbox: SandboxConfiguration(slots: 1, warmPool: false, useCgroups: false),
                logger: Logger(label: "envrun.test"))
            await parts.close()
            Issue.record("the server wiring accepted a sandbox without cgroups")
        } catch let e as EnvrunError {
            #expect(e.code == .uncontained)
            #expect(e.message.contains("--allow-no-cgroups"), "\(e.message)")
        }
    }
}
