import EnvrunServer
import EnvrunTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the kernel shows of a server's sandbox: mounts under the state dir (by mount id, so a mount
/// made anew at the same path is a different one), the processes of its tree, its cgroup directories
/// (by inode, for the same reason).
struct SandboxFootprint {
    static let state = "/run/envrun"

    /// "id path" of every mount under the state dir.
    static func mounts() -> Set<String> {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            guard f.count > 4, f[4].hasPrefix(state + "/") else { return nil }
            return "\(f[0]) \(f[4])"
        })
    }

    /// pid -> (ppid, state) of every process.
    static func processes() -> [pid_t: (ppid: pid_t, state: Character)] {
        var out: [pid_t: (pid_t, Character)] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name),
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.range(of: ")", options: .backwards) else { continue }
            let rest = stat[close.upperBound...].split(separator: " ")
            guard rest.count > 2, let ppid = pid_t(rest[1]) else { continue }
            out[pid] = (ppid, rest[0].first ?? "?")
        }
        return out
    }

    /// `root` and every process below it (alive or zombie).
    static func tree(of root: pid_t) -> Set<pid_t> {
        let all = processes()
        var tree: Set<pid_t> = [root]
        var grew = true
        while grew {
            grew = false
            for (pid, p) in all where tree.contains(p.ppid) && !tree.contains(pid) {
                tree.insert(pid)
                grew = true
            }
        }
        return tree
    }

    /// Alive (not a zombie) among `pids`.
    static func alive(_ pids: Set<pid_t>) -> Set<pid_t> {
        let all = processes()
        return pids.filter { all[$0].map { $0.state != "Z" } ?? false }
    }

    /// "inode path" of every envrun cgroup directory of lease `lease` in every hierarchy.
    static func cgroups(lease: Int) -> Set<String> {
        var out: Set<String> = []
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpuacct",
                     "/sys/fs/cgroup/cpu,cpuacct"] {
            let dir = root + "/envrun"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            where name.hasPrefix("\(lease)-") {
                var st = stat()
                if stat(dir + "/" + name, &st) == 0 { out.insert("\(st.st_ino) \(dir)/\(name)") }
            }
        }
        return out
    }

    /// Lease numbers whose slot dirs appear in `mounts`.
    /// The pid a lease's current (or last) owner wrote into its lock file.
    static func owner(lease: Int) -> pid_t? {
        (try? String(contentsOfFile: "\(state)/lease\(lease).lock", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func leases(_ mounts: Set<String>) -> Set<Int> {
        Set(mounts.compactMap { m in
            let path = m.split(separator: " ")[1].dropFirst(state.count + 1)
            return Int(path.prefix { $0.isNumber })
        })
    }
}

/// `/run_code` of a Python program that sleeps, then prints "done".
func sleeperRequest(seconds: Double) -> String {
    let code = "import time\\ntime.sleep(\(seconds))\\nprint(\\\"done\\\")"
    return RawConnection.request("POST", "/run_code", body: #"{"language":"python","code":"\#(code)","run_timeout":30}"#)
}

@Suite("kill, restart, drain", .serialized,
       .enabled(if: ServerProcess.binary != nil && geteuid() == 0, "needs root and the envrun binary (swift build)"))
struct RestartTests {
    static func port(_ server: ServerProcess) -> Int { Int(server.url.split(separator: ":").last!)! }

    @Test("SIGKILL under load, start again: it serves, and nothing of the dead instance is left")
    func killAndRestart() async throws {
        try await FDGate.exclusive {
            let before = SandboxFootprint.mounts()
            guard let first = try await ServerProcess.start(extra: ["--sandbox-slots", "2"]) else { return }
            let port = Self.port(first)
            // Jobs in flight (two running, two queued) when the server dies.
            let clients = (0..<4).compactMap { _ in RawConnection(port: port) }
            for c in clients { c.send(sleeperRequest(seconds: 20)) }
            try await Task.sleep(for: .seconds(1.5))
            let mine = SandboxFootprint.mounts().subtracting(before)
            let leases = SandboxFootprint.leases(mine)
            let cgroups = leases.reduce(into: Set<String>()) { $0.formUnion(SandboxFootprint.cgroups(lease: $1)) }
            let tree = SandboxFootprint.tree(of: first.process.processIdentifier)
            #expect(!mine.isEmpty && tree.count > 2, "the first server shows no sandbox: \(mine) \(tree)")
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()
            // A marker in each of its slot tmpfs mounts: visible after the restart only if that very
            // mount is still there (mount ids are reused, so they cannot tell).
            let marker = ".dead-\(UUID().uuidString)"
            let paths = mine.map { String($0.split(separator: " ")[1]) }
            for path in paths { #expect(FileManager.default.createFile(atPath: "\(path)/\(marker)", contents: nil)) }
            for c in clients { #expect(c.read(timeout: 5).closed, "a client of the killed server was left hanging") }

            let start = Date()
            guard let second = try await ServerProcess.start(extra: ["--sandbox-slots", "2"]) else { return }
            let startup = Date().timeIntervalSince(start)
            print("restart: serving \(String(format: "%.1f", startup)) s after start")
            #expect(startup < 30)
            let fresh = try #require(RawConnection(port: Self.port(second)))
            fresh.send(sleeperRequest(seconds: 0))
            let r = fresh.response(timeout: 30)
            #expect(r.status == 200 && r.body.contains("done"), "\(String(describing: r.status)) \(r.body)")

            let after = SandboxFootprint.mounts()
            // Executors of other suites in this test process may take a lease the dead server left (the
            // first free number) — and clean it then — before the markers are written: such a lease is
            // theirs now, with their own mounts and cgroups, and is left out of the checks.
            let secondPID = second.process.processIdentifier
            let takenByOthers = leases.filter { lease in
                SandboxFootprint.owner(lease: lease).map { $0 != secondPID && $0 != first.process.processIdentifier && kill($0, 0) == 0 } ?? false
            }
            if !takenByOthers.isEmpty { print("restart: leases \(takenByOthers.sorted()) were taken by another executor meanwhile") }
            let checkedPaths = paths.filter { path in !takenByOthers.contains { path.contains("/envrun/\($0)/") } }
            for path in checkedPaths {
                #expect(access("\(path)/\(marker)", F_OK) != 0, "the dead server's mount at \(path) is still there")
                #expect(after.filter { $0.hasSuffix(" " + path) }.count <= 1, "mounts stacked at \(path)")
            }
            // Its processes (sandbox inits, jobs, warm workers) are gone, zombies aside.
            var survivors = SandboxFootprint.alive(tree.subtracting([first.process.processIdentifier]))
            for _ in 0..<20 where !survivors.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
                survivors = SandboxFootprint.alive(survivors)
            }
            #expect(survivors.isEmpty, "processes of the dead server survive: \(survivors)")
            // Its cgroups are removed or made anew (another inode), never kept with its tasks in them.
            let cgroupsAfter = leases.subtracting(takenByOthers)
                .reduce(into: Set<String>()) { $0.formUnion(SandboxFootprint.cgroups(lease: $1)) }
            #expect(cgroupsAfter.intersection(cgroups).isEmpty,
                    "cgroups of the dead server remain as they were: \(cgroupsAfter.intersection(cgroups))")
            // Each of its leases is free with its dir gone, or taken by the new server.
            let secondLeases = SandboxFootprint.leases(after.subtracting(before))
            for lease in leases.subtracting(takenByOthers) where !secondLeases.contains(lease) {
                #expect(access("\(SandboxFootprint.state)/\(lease)", F_OK) != 0, "lease \(lease) dir is left")
            }
            #expect(second.stop() == 0)
        }
    }

    @Test("SIGTERM: every request in flight is answered, then the server exits 0")
    func drainOnTerm() async throws {
        try await FDGate.exclusive {
            guard let server = try await ServerProcess.start(extra: ["--sandbox-slots", "2"]) else { return }
            let port = Self.port(server)
            let clients = (0..<3).compactMap { _ in RawConnection(port: port) }
            for c in clients { c.send(sleeperRequest(seconds: 1.5)) }
            try await Task.sleep(for: .milliseconds(500))
            kill(server.process.processIdentifier, SIGTERM)
            for (i, c) in clients.enumerated() {
                let r = c.response(timeout: 20)
                #expect(r.status == 200 && r.body.contains("done"), "request \(i): \(String(describing: r.status)) \(r.body)")
            }
            #expect(server.stop() == 0)
        }
    }

    @Test("SIGTERM with a half-sent body: connections are closed after the shutdown timeout")
    func forcedCloseAfterTimeout() async throws {
        try await FDGate.exclusive {
            guard let server = try await ServerProcess.start(
                extra: ["--sandbox-slots", "1", "--shutdown-timeout", "2", "--body-timeout", "600", "--idle-timeout", "600"])
            else { return }
            let stuck = try #require(RawConnection(port: Self.port(server)))
            stuck.send("POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"items\":")
            try await Task.sleep(for: .milliseconds(300))
            let start = Date()
            kill(server.process.processIdentifier, SIGTERM)
            let exited = await offPool { () -> Bool in
                for _ in 0..<150 {
                    if !server.process.isRunning { return true }
                    usleep(100_000)
                }
                return false
            }
            let took = Date().timeIntervalSince(start)
            if !exited { kill(server.process.processIdentifier, SIGKILL) }
            #expect(exited, "the server was still running 15 s after SIGTERM")
            #expect(took > 1.5, "it exited before the shutdown timeout: \(took) s")
            _ = server.stop()
        }
    }
}
