import Foundation
import Testing

@testable import EnvrunSandbox

/// Which cgroup hierarchies a machine mounts, from sample mount tables of the four layouts.
@Suite struct CgroupLayoutTests {
    struct Sample: Sendable, CustomTestStringConvertible {
        var name: String
        var mountinfo: String
        var mode: CgroupLayout.Mode
        var backend: CgroupLayout.Backend?
        var memory: String?
        var pids: String?
        var testDescription: String { name }
    }

    static let samples: [Sample] = [
        Sample(name: "v1 (legacy)", mountinfo: """
            25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
            31 25 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
            32 31 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
            35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
            36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
            39 31 0:36 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,pids
            """, mode: .v1, backend: .v1, memory: "/sys/fs/cgroup/memory", pids: "/sys/fs/cgroup/pids"),
        Sample(name: "v2 (unified, Debian 12 / Ubuntu 22.04+ / Fedora)", mountinfo: """
            24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
            30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
            """, mode: .v2, backend: .v2, memory: "/sys/fs/cgroup", pids: "/sys/fs/cgroup"),
        Sample(name: "hybrid (this machine: v2 offers only hugetlb)", mountinfo: """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """, mode: .hybrid, backend: .v1, memory: "/sys/fs/cgroup/memory", pids: "/sys/fs/cgroup/pids"),
        Sample(name: "none (a container without /sys/fs/cgroup)", mountinfo: """
            600 500 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
            601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
            602 600 0:53 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
            """, mode: .none, backend: nil, memory: nil, pids: nil),
    ]

    /// The unified mount offers memory+pids only where it is the only hierarchy (a controller is
    /// bound to one hierarchy); hybrid's v2 has hugetlb.
    static func controllers(_ mount: String) -> Set<String> {
        mount == "/sys/fs/cgroup" ? ["cpu", "io", "memory", "pids"] : ["hugetlb"]
    }

    @Test(arguments: samples) func detectsTheLayoutFromMountinfo(_ s: Sample) {
        let layout = CgroupLayout(mountinfo: s.mountinfo, controllers: Self.controllers)
        #expect(layout.mode == s.mode)
        #expect(layout.backend == s.backend)
        #expect(layout.hierarchy(for: "memory") == s.memory)
        #expect(layout.hierarchy(for: "pids") == s.pids)
        if s.mode == .hybrid {
            #expect(layout.unified == "/sys/fs/cgroup/unified")
            #expect(layout.v2Controllers == ["hugetlb"])
            #expect(layout.v1["memory"] != nil && layout.v1["systemd"] == nil)
        }
        if s.backend == .v2 { #expect(layout.v2Subtree == "/sys/fs/cgroup/envrun") }
    }

    @Test func detectsTheLayoutFromProcMounts() {
        let mounts = """
            sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
            cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0
            """
        let v2 = CgroupLayout(mounts: mounts, controllers: Self.controllers)
        #expect(v2.mode == .v2 && v2.backend == .v2 && v2.unified == "/sys/fs/cgroup")
        let v1 = CgroupLayout(mounts: """
            cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
            cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0
            """, controllers: Self.controllers)
        #expect(v1.mode == .v1 && v1.backend == .v1 && v1.v1["pids"] == "/sys/fs/cgroup/pids")
    }

    /// Memory in v1 and pids nowhere: no backend (the executor refuses to start).
    @Test func aHalfLayoutHasNoBackendAndEscapedMountPointsAreDecoded() {
        let layout = CgroupLayout(mountinfo: """
            35 31 0:32 / /mnt/my\\040cgroups/memory rw,relatime - cgroup cgroup rw,memory
            """, controllers: { _ in [] })
        #expect(layout.mode == .v1)
        #expect(layout.backend == nil)
        #expect(layout.v1["memory"] == "/mnt/my cgroups/memory")
    }

    /// The detected layout of this machine agrees with what `envrun doctor` relies on.
    @Test func thisMachineIsDetected() {
        let layout = CgroupLayout.current
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        #expect((layout.unified != nil) == mounts.contains(" - cgroup2 "))
        let v1Memory = mounts.split(separator: "\n").contains {
            $0.contains(" - cgroup ") && $0.split(separator: " ").last?.split(separator: ",").contains("memory") == true
        }
        #expect((layout.v1["memory"] != nil) == v1Memory)
    }
}

