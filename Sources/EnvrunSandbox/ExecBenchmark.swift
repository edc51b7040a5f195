import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `envrun bench exec`: a trivial Python program run bare (posix_spawn of /usr/bin/python3, no
/// sandbox), in the cold sandbox and in the warm pool, measured in one run with the same
/// concurrency, so the ratios compare like with like.
public enum ExecBenchmark {
    public struct Figures: Sendable {
        public var mode: String
        public var runs: Int
        public var runsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
    }

    public static let program = "print('ok')\n"

    public static func run(runs: Int, concurrency: Int, progress: @Sendable (String) -> Void = { _ in })
        async throws -> [Figures]
    {
        var out: [Figures] = []
        progress("bare /usr/bin/python3 ...")
        out.append(try await bare(runs: runs, concurrency: concurrency))
        for warm in [false, true] {
            progress(warm ? "warm pool ..." : "cold sandbox ...")
            let ex = try SandboxExecutor(configuration: SandboxConfiguration(slots: concurrency, warmPool: warm))
            let req = ExecRequest(language: "python", source: program)
            // Warm-up: start the workers, fill the page cache.
            for _ in 0..<(2 * concurrency) { _ = await ex.run(req) }
            let start = DispatchTime.now().uptimeNanoseconds
            let lat = await withTaskGroup(of: [Double].self) { g in
                for w in 0..<concurrency {
                    g.addTask {
                        var l: [Double] = []
                        for _ in stride(from: w, to: runs, by: concurrency) {
                            let t = DispatchTime.now().uptimeNanoseconds
                            let r = await ex.run(req)
                            if r.verdict != .ok || r.stdout != "ok\n" { return [] }
                            l.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
                        }
                        return l
                    }
                }
                var all: [Double] = []
                for await l in g { all += l }
                return all
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            await ex.shutdown()
            guard lat.count == runs else {
                throw EnvrunError(.internal, "a benchmark run did not end ok (\(warm ? "warm" : "cold"))")
            }
            out.append(figures(warm ? "warm pool" : "cold sandbox", lat, elapsed))
        }
        return out
    }

    static func figures(_ mode: String, _ lat: [Double], _ elapsed: Double) -> Figures {
        let s = lat.sorted()
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int((Double(s.count) * p).rounded(.down)))] }
        return Figures(mode: mode, runs: s.count, runsPerSecond: Double(s.count) / elapsed, p50Ms: q(0.5), p99Ms: q(0.99))
    }

    /// posix_spawn + waitpid of `/usr/bin/python3 -E -s main.py` in a temp dir, stdout to /dev/null.
    static func bare(runs: Int, concurrency: Int) async throws -> Figures {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("main.py").path
        try program.write(toFile: path, atomically: true, encoding: .utf8)
        let runner = BareRunner(script: path)
        for _ in 0..<4 { _ = runner.once() }
        let start = DispatchTime.now().uptimeNanoseconds
        let lat: [Double] = await withCheckedContinuation { cont in
            DispatchQueue.global().async {
                DispatchQueue.concurrentPerform(iterations: concurrency) { w in
                    var l: [Double] = []
                    for _ in stride(from: w, to: runs, by: concurrency) { if let x = runner.once() { l.append(x) } }
                    runner.add(l)
                }
                cont.resume(returning: runner.latencies)
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard lat.count == runs else { throw EnvrunError(.internal, "a bare python3 run failed") }
        return figures("bare python3", lat, elapsed)
    }
}

/// posix_spawn + waitpid of bare python3 (thread-safe: the argv/envp arrays are read-only).
final class BareRunner: @unchecked Sendable {
    private let argv: CStrings
    private let envp = CStrings(["PATH=/usr/bin:/bin", "LANG=C.UTF-8"])
    private let lock = NSLock()
    private(set) var latencies: [Double] = []

    init(script: String) { argv = CStrings(["/usr/bin/python3", "-E", "-s", script]) }

    func add(_ l: [Double]) { lock.withLock { latencies += l } }

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
