import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `envrun bench exec`: a trivial Python program run bare (posix_spawn of /usr/bin/python3, no
/// sandbox), in the cold sandbox and in the warm pool, measured in one run with the same
/// concurrency, interleaved, so the ratios compare like with like.
public enum ExecBenchmark {
    public struct Figures: Sendable {
        public var mode: String
        public var runs: Int
        public var runsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
    }

    public static let program = "print('ok')\n"

    /// The three modes are interleaved in blocks (`block` bare runs, `block` cold, `block` warm, again …)
    /// by every worker, so all of them see the same machine load. Blocks rather than single runs: a cold
    /// run's network namespace is torn down by the kernel after the run has returned, and with single-run
    /// interleaving that work lands on the next bare or warm run instead of on the cold sandbox that caused
    /// it. runs/s is concurrency x 1000 / mean latency.
    public static func run(runs: Int, concurrency: Int, block: Int = 20,
                           progress: @Sendable (String) -> Void = { _ in })
        async throws -> [Figures]
    {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("main.py").path
        try program.write(toFile: path, atomically: true, encoding: .utf8)
        let bare = BareRunner(script: path)
        let cold = try SandboxExecutor(configuration: SandboxConfiguration(slots: concurrency, warmPool: false))
        let warm = try SandboxExecutor(configuration: SandboxConfiguration(slots: concurrency, warmPool: true))
        let req = ExecRequest(language: "python", source: program)
        progress("warming up (page cache, warm workers) ...")
        for _ in 0..<(2 * concurrency) {
            _ = await bareOnce(bare)
            _ = await cold.run(req)
            _ = await warm.run(req)
        }
        progress("measuring \(runs) runs per mode, interleaved in blocks of \(block), concurrency \(concurrency) ...")
        let lat = await withTaskGroup(of: [[Double]].self) { g in
            for w in 0..<concurrency {
                g.addTask {
                    var l: [[Double]] = [[], [], []]
                    let mine = stride(from: w, to: runs, by: concurrency).underestimatedCount
                    var done = 0
                    while done < mine {
                        let n = min(max(1, block), mine - done)
                        for _ in 0..<n { if let x = await bareOnce(bare) { l[0].append(x) } }
                        for (i, ex) in [(1, cold), (2, warm)] {
                            for _ in 0..<n {
                                let t = DispatchTime.now().uptimeNanoseconds
                                let r = await ex.run(req)
                                if r.verdict == .ok && r.stdout == "ok\n" {
                                    l[i].append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
                                }
                            }
                        }
                        done += n
                    }
                    return l
                }
            }
            var all: [[Double]] = [[], [], []]
            for await l in g { for i in 0..<3 { all[i] += l[i] } }
            return all
        }
        await cold.shutdown()
        await warm.shutdown()
        let names = ["bare python3", "cold sandbox", "warm pool"]
        for i in 0..<3 where lat[i].count != runs {
            throw EnvrunError(.internal, "\(runs - lat[i].count) \(names[i]) runs did not end ok")
        }
        return (0..<3).map { figures(names[$0], lat[$0], concurrency: concurrency) }
    }

    static func bareOnce(_ b: BareRunner) async -> Double? {
        await withCheckedContinuation { cont in DispatchQueue.global().async { cont.resume(returning: b.once()) } }
    }

    static func figures(_ mode: String, _ lat: [Double], concurrency: Int) -> Figures {
        let s = lat.sorted()
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int((Double(s.count) * p).rounded(.down)))] }
        let mean = s.reduce(0, +) / Double(max(1, s.count))
        return Figures(mode: mode, runs: s.count, runsPerSecond: Double(concurrency) * 1000 / mean, p50Ms: q(0.5),
                       p99Ms: q(0.99))
    }
}

/// posix_spawn + waitpid of bare python3 (thread-safe: the argv/envp arrays are read-only).
final class BareRunner: @unchecked Sendable {
    private let argv: CStrings
    private let envp = CStrings(["PATH=/usr/bin:/bin", "LANG=C.UTF-8"])

    init(script: String) { argv = CStrings(["/usr/bin/python3", "-E", "-s", script]) }


    func once() -> Double? {
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let t = DispatchTime.now().uptimeNanoseconds
        let rc = argv.withArray { a in envp.withArray { e in posix_spawn(&pid, "/usr/bin/python3", &fa, nil, a, e) } }
        guard rc == 0 else { return nil }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        guard st == 0 else { return nil }
        return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6
    }
}
