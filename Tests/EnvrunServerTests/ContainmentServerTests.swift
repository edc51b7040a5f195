import AsyncHTTPClient
import EnvrunServer
import EnvrunTesting
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The containment attack classes of issue 13 through SandboxFusion's `/run_code` on the real `envrun serve`
/// binary with one sandbox slot (so every request after an attack runs in the attacked slot): memory no
/// process's RSS shows, calls on other processes of the uid, a deep tree, a killed idle worker. After each:
/// the verdict, the server alive and answering `/healthz`, the next job clean; at the end the server's fd
/// count is what it was before the attacks.
@Suite("containment through /run_code", .serialized,
       .enabled(if: ServerProcess.binary != nil && geteuid() == 0, "needs root and the envrun binary (swift build)"))
struct ContainmentServerTests {
    static let probe = """
        import os, resource
        print(sorted(os.listdir('/work')), os.listdir('/tmp'), resource.getrlimit(resource.RLIMIT_NOFILE),
              os.getpriority(os.PRIO_PROCESS, 0), len(os.sched_getaffinity(0)) == os.cpu_count())
        """
    static let probeOutput = "['main.py'] [] (256, 256) 0 True\n"

    static let attacks: [(name: String, language: String, code: String, verdict: String)] = [
        ("SysV shm in C", "c", ContainmentAttacks.sysvShmC, "memory_limit"),
        ("memfd in Python", "python", ContainmentAttacks.memfdPython, "memory_limit"),
        ("SysV shm in Python", "python", ContainmentAttacks.sysvShmPython, "memory_limit"),
        ("limits, priority and affinity of pid 1 and the parent", "python", ContainmentAttacks.otherProcesses, "ok"),
        ("a tree 1200 deep in /work and /tmp", "python", """
            import os
            for top in ("/work", "/tmp"):
                os.chdir(top)
                for i in range(1200):
                    os.mkdir("d")
                    os.chdir("d")
                open("left", "w").write("x")
            """, "ok"),
    ]

    @Test("each attack gets its verdict; the server lives, the next job is clean, fds are flat")
    func attacksThroughRunCode() async throws {
        try await ServerProcess.withRunning(extra: ["--sandbox-slots", "1"]) { try await attacks($0, $1) }
    }

    func attacks(_ server: ServerProcess, _ http: HTTPClient) async throws {
        let pid = server.process.processIdentifier
        // Warm both paths up (first runs start the worker), then take the baseline.
        _ = try await runCode(server.url, http, Self.probe, "python")
        _ = try await runCode(server.url, http, "int main(void){return 0;}", "c")
        let before = Self.fdCount(pid)
        for attack in Self.attacks {
            let r = try await runCode(server.url, http, attack.code, attack.language)
            #expect(r.envrun.verdict.rawValue == attack.verdict, "\(attack.name): \(r.envrun.verdict) \(r.envrun.detail ?? "")")
            #expect(server.process.isRunning, "\(attack.name): the server died")
            try await expectHealthy(server.url, http, attack.name)
            let next = try await runCode(server.url, http, Self.probe, "python")
            #expect(next.runResult?.stdout == Self.probeOutput, "\(attack.name): next job \(next.status) \(next.runResult?.stdout ?? "") \(next.message)")
        }
        // The slot's idle warm worker killed from outside: the next job gets a new one.
        let workers = Self.warmWorkers(of: pid)
        #expect(workers.count == 1, "warm workers: \(workers)")
        for w in workers { kill(w, SIGKILL) }
        usleep(50_000)
        let after = try await runCode(server.url, http, Self.probe, "python")
        #expect(after.status == "Success" && after.runResult?.stdout == Self.probeOutput, "\(after.status) \(after.message)")
        #expect(Self.warmWorkers(of: pid).count == 1)
        var now = Self.fdCount(pid)
        for _ in 0..<50 where now > before {
            usleep(20_000)
            now = Self.fdCount(pid)
        }
        // A leak is growth; the server's own connections may close meanwhile.
        #expect(now <= before, "server fds went from \(before) to \(now)")
    }

    func runCode(_ url: String, _ http: HTTPClient, _ code: String, _ language: String) async throws -> RunCodeResponse {
        var request = HTTPClientRequest(url: url + "/run_code")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(RunCodeRequest(code: code, language: language))))
        let response = try await http.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 16 << 20)
        try #require(response.status == .ok, "\(response.status): \(String(buffer: body))")
        return try JSONDecoder().decode(RunCodeResponse.self, from: Data(buffer: body))
    }

    func expectHealthy(_ url: String, _ http: HTTPClient, _ name: String) async throws {
        let response = try await http.execute(HTTPClientRequest(url: url + "/healthz"), timeout: .seconds(10))
        #expect(response.status == .ok, "\(name): /healthz \(response.status)")
    }

    static func fdCount(_ pid: pid_t) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// The server's warm workers: its children running the zygote (`python3 -I -c …`).
    static func warmWorkers(of server: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { e -> pid_t? in
            guard let p = pid_t(e),
                let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")"),
                let cmd = FileManager.default.contents(atPath: "/proc/\(e)/cmdline")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, pid_t(fields[1]) == server else { return nil }
            return String(decoding: cmd, as: UTF8.self).hasPrefix("/usr/bin/python3\0-I\0-c") ? p : nil
        }
    }
}
