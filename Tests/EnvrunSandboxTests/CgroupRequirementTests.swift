import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// What `envrun doctor` reports about cgroups, and the fail-closed rule built on it.
@Suite struct CgroupProbeTests {
    /// A probe of the fake v2 hierarchy: both layers, swap limited, no problem.
    @Test func theProbeReportsAUsableV2Hierarchy() {
        let fs = FakeCgroupFS.v2()
        defer { fs.destroy() }
        fs.put("envrun/memory.swap.max")
        let probe = CgroupProbe.run(layout: fs.v2Layout, root: true)
        #expect(probe.problem == nil)
        let active = Dictionary(probe.layers.map { ($0.name, $0.active) }, uniquingKeysWith: { a, _ in a })
        #expect(active["cgroup v2 memory"] == true && active["cgroup v2 pids"] == true)
        #expect(active["cgroup swap limit"] == true && active["cgroup requirement"] == true)
    }

    /// Swap accounting off: the doctor says so, but it is not required.
    @Test func missingSwapAccountingIsReportedNotRequired() {
        let fs = FakeCgroupFS.v1(memsw: false)
        defer { fs.destroy() }
        let probe = CgroupProbe.run(layout: fs.v1Layout, root: true)
        let swap = probe.layers.first { $0.name == "cgroup swap limit" }
        #expect(swap?.active == false && swap?.detail.contains("swap accounting is off") == true)
        #expect(probe.problem == nil, "swap is reported, not required")
    }

    @Test func noHierarchyMeansARefusalThatNamesTheFlag() throws {
        let probe = CgroupProbe.run(layout: CgroupLayout(mode: .none), root: true)
        let problem = try #require(probe.problem)
        #expect(problem.contains("memory") && problem.contains("pids"), "\(problem)")
        let req = probe.layers.first { $0.name == "cgroup requirement" }
        #expect(req?.active == false && req?.detail.contains("--allow-no-cgroups") == true)
    }
}

extension SandboxSuites {
    /// Fail closed: an executor without cgroup memory and pids limits refuses to start unless the
    /// configuration says it may.
    @Suite struct CgroupRequirementTests {
        @Test func anExecutorWithoutCgroupsRefusesToStart() async throws {
            if skipUnlessRoot() { return }
            do {
                let ex = try SandboxExecutor(configuration: SandboxConfiguration(slots: 1, warmPool: false, useCgroups: false))
                Issue.record("started without cgroups (lease \(ex.leaseIndex))")
                await ex.shutdown()
            } catch let e as EnvrunError {
                #expect(e.code == .uncontained)
                #expect(e.message.contains("--allow-no-cgroups"), "\(e.message)")
                #expect(e.message.contains("useCgroups is false"), "\(e.message)")
            }
        }

        @Test func requireCgroupsFalseStartsWithoutThem() async throws {
            if skipUnlessRoot() { return }
            let ex = try SandboxExecutor(configuration: SandboxConfiguration(
                slots: 1, warmPool: false, useCgroups: false, requireCgroups: false))
            let r = await ex.run(python("print(6 * 7)"))
            await ex.shutdown()
            #expect(r.verdict == .ok && r.stdout == "42\n", "\(r.verdict) \(r.detail ?? "")")
        }
    }
}
