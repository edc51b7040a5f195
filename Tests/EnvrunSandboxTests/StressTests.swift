import CEnvrunSandbox
import EnvrunCore
import Foundation
import Testing

@testable import EnvrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// 1,000 mixed jobs (good, failing, hostile; warm and cold; four languages) run concurrently:
/// no sandbox_error, every verdict as expected, and after shutdown no leaked process, fd, cgroup,
/// mount or slot directory.
extension SandboxSuites {
    @Suite struct StressTests {
        struct Job {
            var request: ExecRequest
            var warm: Bool
            var expect: Set<Verdict>
        }

        static let mix: [Job] = {
            func py(_ s: String, _ stdin: String = "", _ l: ExecLimits = ExecLimits(cpuMs: 1000, wallMs: 3000))
                -> ExecRequest
            { ExecRequest(language: "python", source: s, stdin: stdin, limits: l) }
            let good = py("import sys\nprint(sum(map(int, sys.stdin.read().split())))", "1 2 3 4")
            let loop = py("s = 0\nfor i in range(20000):\n    s += i * i\nprint(s)")
            let raise = py("def f(n):\n    return 1 / n\nf(0)")
            let exit2 = py("import sys\nsys.exit(2)")
            let syntax = py("def (:\n")
            let net = py("import socket\nsocket.socket().connect(('127.0.0.1', 80))")
            let forkBomb = py("import os\nwhile True:\n    os.fork()", "", ExecLimits(cpuMs: 1000, wallMs: 3000, processes: 4))
            let memBomb = py("x = []\nwhile True:\n    x.append(bytearray(8 * 2**20))", "",
                             ExecLimits(cpuMs: 1000, wallMs: 3000, memoryMB: 64))
            let flood = py("while True:\n    print('z' * 1000)", "", ExecLimits(cpuMs: 1000, wallMs: 3000, outputBytes: 10_000))
            let killAll = py("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\nprint('ok')")
            let escape = py("import os\nos.symlink('/etc', '/work/e')\ntry:\n    open('/work/e/evil', 'w')\nexcept OSError as e:\n    print('denied')")
            let sleeper = py("import time\ntime.sleep(60)", "", ExecLimits(cpuMs: 1000, wallMs: 300))
            let c = ExecRequest(language: "c", source: "#include <stdio.h>\nint main(){puts(\"c\");return 0;}")
            let sh = ExecRequest(language: "bash", source: "echo sh; exit 0")
            var jobs: [Job] = []
            for (req, verdicts) in [
                (good, [Verdict.ok]), (loop, [.ok]), (raise, [.runtimeError]), (exit2, [.runtimeError]),
                (syntax, [.runtimeError]), (net, [.securityViolation]), (forkBomb, [.runtimeError, .timeLimit]),
                (memBomb, [.memoryLimit]), (flood, [.outputLimit]), (killAll, [.ok]), (escape, [.ok]),
            ] {
                jobs.append(Job(request: req, warm: true, expect: Set(verdicts)))
                jobs.append(Job(request: req, warm: true, expect: Set(verdicts)))
                jobs.append(Job(request: req, warm: false, expect: Set(verdicts)))
            }
            return jobs
        }()

        static func openFds() -> [Int32: String] {
            var out: [Int32: String] = [:]
            for e in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
                if let fd = Int32(e), let t = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(e)") {
                    out[fd] = t
                }
            }
            return out
        }

        @Test func thousandMixedJobs() async throws {
            if skipUnlessRoot() { return }
            let fdsBefore = Self.openFds()
            let ex = try makeExecutor(slots: 2)
            let uids = ex.slotUids
            let lease = ex.leaseIndex
            let leaseDir = ex.leaseDirectory
            var jobs: [Job] = []
            for i in 0..<1000 {
                if i % 100 == 7 {
                    jobs.append(Job(request: ExecRequest(language: "c", source: "#include <stdio.h>\nint main(){puts(\"c\");return 0;}"),
                                    warm: false, expect: [.ok]))
                } else if i % 100 == 57 {
                    jobs.append(Job(request: ExecRequest(language: "bash", source: "echo sh"), warm: false, expect: [.ok]))
                } else if i % 50 == 23 {
                    jobs.append(Job(request: ExecRequest(language: "python", source: "import time\ntime.sleep(60)",
                                                         limits: ExecLimits(cpuMs: 1000, wallMs: 300)),
                                    warm: i % 100 < 50, expect: [.timeLimit]))
                } else {
                    jobs.append(Self.mix[i % Self.mix.count])
                }
            }
            let results = await withTaskGroup(of: (Int, ExecResult).self) { group in
                for (i, job) in jobs.enumerated() {
                    group.addTask { (i, await ex.run(job.request, warm: job.warm)) }
                }
                var all: [(Int, ExecResult)] = []
                for await r in group { all.append(r) }
                return all
            }
            #expect(results.count == 1000)
            var counts: [Verdict: Int] = [:]
            var unexpected: [String] = []
            for (i, r) in results {
                counts[r.verdict, default: 0] += 1
                if !jobs[i].expect.contains(r.verdict) {
                    unexpected.append("#\(i) \(jobs[i].request.language) warm=\(jobs[i].warm): \(r.verdict) \(r.detail ?? "") \(r.stderr.suffix(200))")
                }
            }
            print("1000 mixed jobs:", counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " "))
            #expect(counts[.sandboxError, default: 0] == 0)
            #expect(unexpected.isEmpty, "\(unexpected.prefix(10))")
            #expect(counts.count >= 6, "the mix covers ok and five failure verdicts")

            await ex.shutdown()
            // Processes: none of the executor's uids is left.
            #expect(processes(ofUids: uids).isEmpty)
            // cgroups, mounts, slot dirs: gone with the lease.
            for root in [CgroupSlot.memoryRoot, CgroupSlot.pidsRoot] {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/envrun")) ?? []
                #expect(!names.contains { $0.hasPrefix("\(lease)-") }, "cgroups left in \(root): \(names)")
            }
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            #expect(!mounts.contains(leaseDir + "/"), "slot tmpfs still mounted")
            #expect(!FileManager.default.fileExists(atPath: leaseDir), "slot dirs left in \(leaseDir)")
            // File descriptors of the kinds the executor opens (pipes, sockets, pidfds, /dev/null,
            // cgroup and slot files). Other test targets run in parallel in this process, so wait
            // for their transient fds to close before comparing.
            func ours(_ target: String) -> Bool {
                target.hasPrefix("pipe:") || target.hasPrefix("socket:") || target == "anon_inode:[pidfd]"
                    || target == "/dev/null" || target.contains("/envrun/") || target.hasPrefix("/run/envrun")
                    || target.hasPrefix("/memfd:")
            }
            var leaked: [Int32: String] = [:]
            for _ in 0..<50 {
                let now = Self.openFds()
                leaked = now.filter { fdsBefore[$0.key] != $0.value && ours($0.value) }
                if leaked.isEmpty { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(leaked.isEmpty, "fds opened during the run and still open: \(leaked)")
        }
    }
}
