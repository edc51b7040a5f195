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

    public enum Mode: String, CaseIterable, Sendable {
        case bare, cold, warm
        public var title: String {
            switch self {
            case .bare: "bare python3"
            case .cold: "cold sandbox"
            case .warm: "warm pool"
            }
        }
    }

    /// The modes take turns in blocks: all `concurrency` workers run `block` runs of one mode
    /// together, then of the next mode, and so on, so every mode sees the same machine load over
    /// time and is measured running alongside itself only (the throughput of the warm pool is not
    /// that of a warm worker sharing the cores with bare Python starts). Blocks rather than single
    /// runs: the kernel finishes tearing a cold run's namespaces down after the run has returned,
    /// and that work should fall on the cold block, not on the next mode's first runs.
    /// runs/s = runs / the summed wall time of the mode's blocks; p50/p99 are per-run latencies.
    /// `modes`: which of the three to run (all by default; one alone is for profiling a mode).
    public static func run(runs: Int, concurrency: Int, block: Int = 20, modes: [Mode] = Mode.allCases,
                           progress: @Sendable (String) -> Void = { _ in })
        async throws -> [Figures]
    {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("main.py").path
        try program.write(toFile: path, atomically: true, encoding: .utf8)
        let bare = BareRunner(script: path)
        let cold = modes.contains(.cold)
            ? try SandboxExecutor(configuration: SandboxConfiguration(slots: concurrency, warmPool: false)) : nil
        let warm = modes.contains(.warm)
            ? try SandboxExecutor(configuration: SandboxConfiguration(slots: concurrency, warmPool: true)) : nil
        let req = ExecRequest(language: "python", source: program)
        /// One run of `mode`: its latency in ms, or nil when it did not end ok.
        @Sendable func once(_ mode: Mode) async -> Double? {
            switch mode {
            case .bare:
                return await bareOnce(bare)
            case .cold, .warm:
                let ex = mode == .cold ? cold! : warm!
                let t = DispatchTime.now().uptimeNanoseconds
                let r = await ex.run(req)
                guard r.verdict == .ok && r.stdout == "ok\n" else { return nil }
                return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6
            }
        }
        progress("warming up (page cache, warm workers) ...")
        for mode in modes { _ = await runBlock(mode, runs: 2 * concurrency, concurrency: concurrency, once) }
        progress("measuring \(runs) runs per mode, in turns of \(block) runs per worker, concurrency \(concurrency) ...")
        var latencies: [Mode: [Double]] = [:]
        var wall: [Mode: Double] = [:]
        var failed: [Mode: Int] = [:]
        var done = 0
        while done < runs {
            let n = min(max(1, block) * concurrency, runs - done)
            for mode in modes {
                let (lat, ms) = await runBlock(mode, runs: n, concurrency: concurrency, once)
                latencies[mode, default: []] += lat.compactMap { $0 }
                failed[mode, default: 0] += lat.filter { $0 == nil }.count
                wall[mode, default: 0] += ms
            }
            done += n
        }
        await cold?.shutdown()
        await warm?.shutdown()
        for mode in modes where failed[mode, default: 0] > 0 {
            throw EnvrunError(.internal, "\(failed[mode]!) \(mode.title) runs did not end ok")
        }
        return modes.map { figures($0.title, latencies[$0] ?? [], wallMs: wall[$0] ?? 0) }
    }

    /// `runs` runs of one mode by `concurrency` workers; the latencies and the block's wall time.
    static func runBlock(_ mode: Mode, runs: Int, concurrency: Int, _ once: @escaping @Sendable (Mode) async -> Double?)
        async -> ([Double?], Double)
    {
        let t = DispatchTime.now().uptimeNanoseconds
        let lat = await withTaskGroup(of: [Double?].self) { g in
            for w in 0..<concurrency {
                let mine = stride(from: w, to: runs, by: concurrency).underestimatedCount
                g.addTask {
                    var l: [Double?] = []
                    for _ in 0..<mine { l.append(await once(mode)) }
                    return l
                }
            }
            var all: [Double?] = []
            for await l in g { all += l }
            return all
        }
        return (lat, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
    }

    static func bareOnce(_ b: BareRunner) async -> Double? {
        await withCheckedContinuation { cont in DispatchQueue.global().async { cont.resume(returning: b.once()) } }
    }

    static func figures(_ mode: String, _ lat: [Double], wallMs: Double) -> Figures {
        let s = lat.sorted()
        func q(_ p: Double) -> Double { s.isEmpty ? 0 : s[min(s.count - 1, Int((Double(s.count) * p).rounded(.down)))] }
        return Figures(mode: mode, runs: s.count, runsPerSecond: wallMs > 0 ? Double(s.count) * 1000 / wallMs : 0,
                       p50Ms: q(0.5), p99Ms: q(0.99))
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
