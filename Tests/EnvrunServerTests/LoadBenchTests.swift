import EnvrunCore
import EnvrunTesting
import Foundation
import NIOCore
import Testing

@testable import EnvrunServer

#if canImport(Glibc)
import Glibc
#endif

/// `envrun bench load`: its judges and tallies on hand-made answers, then short runs against the real
/// binary (the library against a `ServerProcess`, and the CLI starting its own server).
@Suite("load bench")
struct LoadBenchTests {
    // MARK: judges and tallies, no server

    static func runCodeBody(_ status: String, verdict: String, stdout: String) -> ByteBuffer {
        ByteBuffer(string: """
            {"status":"\(status)","message":"","run_result":{"status":"Finished","return_code":0,"stdout":"\(stdout)",\
            "stderr":""},"executor_pod_name":"envrun","files":{},"envrun":{"verdict":"\(verdict)","truncated":false}}
            """)
    }

    @Test("a contained attack passes; one that survived, got the wrong verdict or a sandbox_error does not")
    func attackJudgement() throws {
        let job = LoadWorkload.runCodeJob(.attack, AttackCorpus.sysvShmPython)
        let judge = job.steps[0]([:]).judge
        #expect(judge(200, Self.runCodeBody("Failed", verdict: "memory_limit", stdout: "")) == .ok)
        let survived = judge(200, Self.runCodeBody("Success", verdict: "ok", stdout: "survived\\n"))
        #expect(survived.breach != nil)
        let sandbox = judge(200, Self.runCodeBody("SandboxError", verdict: "sandbox_error", stdout: ""))
        #expect(sandbox.sandboxErrors == 1 && sandbox.breach == nil)
        #expect(judge(500, ByteBuffer(string: "{}")).unexpected != nil)

        let probe = AttackCorpus.containment.first { $0.name == "proc_snooping" }!
        #expect(probe.breach(verdict: .ok, stdout: "pids 1\n") == nil)
        #expect(probe.breach(verdict: .ok, stdout: "pids 3\n") != nil, "more pids than its own is a breach")
    }

    @Test("math answers are checked item by item; sandbox_error is counted in score batches")
    func scoreJudgement() {
        let ok = ByteBuffer(string: #"{"results":[{"reward":1,"status":"ok","source":"rule","components":{},"details":{}},"#
            + #"{"reward":0,"status":"ok","source":"rule","components":{},"details":{}}]}"#)
        #expect(LoadWorkload.scored(200, ok, expected: [1, 0], ids: ["a", "b"]) == .ok)
        #expect(LoadWorkload.scored(200, ok, expected: [1, 1], ids: ["a", "b"]).unexpected?.contains("b: reward 0") == true)
        #expect(LoadWorkload.scored(200, ok, expected: [1], ids: ["a"]).unexpected != nil, "wrong result count")
        let sandbox = ByteBuffer(string: #"{"results":[{"reward":0,"status":"error","source":"rule","components":{},"#
            + #""details":{"verdict":"sandbox_error","error":"x"}}]}"#)
        let j = LoadWorkload.scored(200, sandbox, expected: [1], ids: ["a"])
        #expect(j.sandboxErrors == 1 && j.unexpected == nil)
    }

    @Test("counts add up per class and in total; 429s are apart from the 4xx and out of the latencies")
    func recorderSums() {
        let r = LoadRecorder()
        for (status, ms) in [(200, 10.0), (200, 30.0), (404, 5.0), (429, 1000.0), (503, 7.0)] {
            r.sent(.math)
            r.answered(.math, name: "gsm8k", status: status, ms: ms, judgement: .ok, at: 1)
        }
        r.sent(.hostile)
        r.transportError(.hostile, name: "fork_bomb_python", error: EnvrunError(.io, "reset"), at: 2)
        let snap = r.snapshot()
        let math = try! #require(snap.classes.first { $0.0 == .math }?.1)
        #expect(math.sent == 5 && math.answered == 5 && math.status2xx == 2 && math.status4xx == 1)
        #expect(math.saturated == 1 && math.status5xx == 1 && math.consistent)
        #expect(math.maxMs == 30, "the 429's latency is left out")
        #expect(math.cases == ["gsm8k": 4])
        #expect(snap.total.sent == 6 && snap.total.transportErrors == 1 && snap.total.consistent)
        #expect(snap.incidents.map(\.kind).sorted() == ["5xx", "transport"])
    }

    @Test("only loopback URLs are driven", arguments: [
        ("http://127.0.0.1:8080", true), ("http://localhost:9000/", true), ("http://[::1]:8080", true),
        ("http://10.0.0.1:8080", false), ("http://example.com", false), ("https://127.0.0.1:8080", false),
        ("http://127.0.0.1.example.com:80", false),
    ])
    func loopbackOnly(_ url: String, _ allowed: Bool) {
        #expect(((try? LoadBench.Target(url: url, pid: 1)) != nil) == allowed, "\(url)")
    }

    // MARK: against the real binary

    @Test("a short run against envrun serve: every class sent and answered as expected, counts add up",
          .enabled(if: ServerProcess.binary != nil && geteuid() == 0, "needs root and the envrun binary (swift build)"),
          .timeLimit(.minutes(3)))
    func shortRun() async throws {
        try await ServerProcess.withRunning(extra: ["--sandbox-slots", "2"]) { server, _ in
            var options = LoadBench.Options()
            options.duration = 6
            options.concurrency = 4
            options.attackBurst = AttackCorpus.containment.count
            options.attackEvery = 1.5
            options.sampleEvery = 1
            options.weights[.runCode] = 40
            let report = try await LoadBench.session(
                server: .existing(try LoadBench.Target(url: server.url, pid: server.process.processIdentifier)),
                packsDirectory: ServerProcess.root + "/Tasks", languages: LoadWorkload.knownLanguages,
                maxBodyBytes: 8 << 20, options: options, progress: { _ in })
            Self.check(report, burstsAtLeast: 1)
            // One burst fires the whole corpus at once.
            let burst = report.classes.first { $0.loadClass == "attack_burst" }?.counts.cases ?? [:]
            let corpus = AttackCorpus.containment.filter { report.languages.contains($0.language) }.map(\.name)
            #expect(Set(burst.keys) == Set(corpus), "attacks never fired: \(Set(corpus).subtracting(burst.keys))")
            // Languages are taken in turn: n run_code answers cover min(n, languages) of them.
            let runCode = report.classes.first { $0.loadClass == "run_code" }?.counts.cases ?? [:]
            let languages = Set(runCode.keys.map { String($0.split(separator: ":")[0]) })
            #expect(languages.count == min(report.languages.count, runCode.values.reduce(0, +)), "\(runCode)")
            #expect(report.languages.contains("python") && report.languages.contains("c"))
        }
    }

    /// What every passing report must hold.
    static func check(_ report: LoadReport, burstsAtLeast: Int) {
        let seen = Set(report.classes.map(\.loadClass))
        #expect(seen == Set(LoadClass.allCases.map(\.rawValue)), "classes never sent: \(Set(LoadClass.allCases.map(\.rawValue)).subtracting(seen))")
        for row in report.classes {
            #expect(row.counts.consistent, "\(row.loadClass): counts do not add up: \(row.counts)")
            #expect(row.counts.answered - row.counts.saturated > 0, "\(row.loadClass): nothing answered but 429s")
            #expect(row.counts.cases.values.reduce(0, +) == row.counts.answered - row.counts.saturated, "\(row.loadClass)")
        }
        let sum = report.classes.reduce(0) { $0 + $1.counts.sent }
        #expect(report.total.sent == sum && report.total.consistent)
        #expect(report.total.status5xx == 0 && report.total.transportErrors == 0 && report.total.sandboxErrors == 0)
        #expect(report.total.unexpected == 0 && report.total.breaches == 0, "\(report.incidents)")
        #expect(report.bursts.count >= burstsAtLeast)
        for b in report.bursts { #expect(b.fired == b.answered && b.answered == b.contained, "\(b)") }
        #expect(report.hostFileIntact && report.serverAlive)
        #expect(report.samples.count >= 3 && report.samples.allSatisfy { $0.rssKB > 0 && $0.fds > $0.sockets && $0.sockets > 0 })
        #expect(report.passed, "\(report.failures)")
        #expect(report.render().contains("PASS"))
    }

    @Test("envrun bench load starts its own server, prints a JSON report and exits 0",
          .enabled(if: ServerProcess.binary != nil && geteuid() == 0, "needs root and the envrun binary (swift build)"),
          .timeLimit(.minutes(3)))
    func commandLine() async throws {
        let (status, out, err) = try await FDGate.exclusive {
            try Self.runEnvrun(["bench", "load", "--duration", "4", "--concurrency", "2", "--attack-burst", "4",
                                "--attack-every", "1.5", "--sample-every", "1", "--json", "--packs", ServerProcess.root + "/Tasks",
                                "--serve-arg", "--sandbox-slots 2"])
        }
        #expect(status == 0, "exit \(status): \(err.suffix(2000))")
        let report = try JSONDecoder().decode(LoadReport.self, from: Data(out.utf8))
        Self.check(report, burstsAtLeast: 1)
        #expect(report.serverExitStatus == 0)
        #expect(err.contains("answered"), "no progress line on stderr")
    }

    @Test("a non-loopback --url is refused before anything is sent",
          .enabled(if: ServerProcess.binary != nil, "needs the envrun binary (swift build)"))
    func commandRefusesRemote() throws {
        let (status, _, err) = try Self.runEnvrun(["bench", "load", "--url", "http://10.1.2.3:8080", "--pid", "1"])
        #expect(status != 0)
        #expect(err.contains("loopback"), "\(err)")
    }

    /// Runs the built `envrun` with `arguments`; stdout through a pipe, stderr through a file (so neither fills).
    static func runEnvrun(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(ServerProcess.binary))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: ServerProcess.root)
        let errPath = NSTemporaryDirectory() + "envrun-load-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { unlink(errPath) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), err)
    }
}
