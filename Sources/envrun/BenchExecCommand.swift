import ArgumentParser
import EnvrunSandbox
import Foundation

/// `envrun bench exec`: bare python3 vs the cold sandbox vs the warm pool, from one run.
struct BenchExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Benchmark the executor: bare /usr/bin/python3, the cold sandbox and the warm pool.",
        discussion: """
            Runs a trivial Python program (print('ok')) RUNS times in each mode with the same \
            concurrency and prints runs/s, p50 and p99 latency per mode, and the ratios: the cold \
            sandbox's p50 overhead over bare python3 in ms, and the warm pool's runs/s over bare.

            The modes take turns in blocks: all workers run --block runs each of one mode together, \
            then of the next, so every mode sees the same machine load over time and runs alongside \
            itself only; the kernel's deferred tear-down of a cold run's namespaces falls on the cold \
            block. runs/s is the mode's runs over the summed wall time of its blocks. Bare runs are \
            posix_spawn + waitpid of /usr/bin/python3 with stdout to /dev/null (no capture).

            --modes runs a subset, e.g. `--modes warm` under `perf record -a` to profile one mode; \
            the ratios are printed only when bare is among them. Needs root.
            """)

    @Option(name: .long, help: "Runs per mode.")
    var runs = 300

    @Option(name: .long, help: "Concurrent runs (sandbox slots); default: the number of cores.")
    var concurrency = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Runs per worker of one mode before the next mode's turn.")
    var block = 20

    @Option(name: .long, help: "Comma-separated modes to run: bare, cold, warm.")
    var modes = "bare,cold,warm"

    func parsedModes() throws -> [ExecBenchmark.Mode] {
        let names = modes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let parsed = names.compactMap(ExecBenchmark.Mode.init(rawValue:))
        guard parsed.count == names.count, !parsed.isEmpty else {
            throw ValidationError("--modes takes a comma-separated list of bare, cold, warm (got '\(modes)')")
        }
        return ExecBenchmark.Mode.allCases.filter(parsed.contains)
    }

    func validate() throws {
        _ = try parsedModes()
        guard block >= 1 else { throw ValidationError("--block must be at least 1") }
        guard runs >= 10 else { throw ValidationError("--runs must be at least 10") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let chosen = try parsedModes()
        let figs = try await ExecBenchmark.run(runs: runs, concurrency: concurrency, block: block, modes: chosen) { msg in
            FileHandle.standardError.write(Data((msg + "\n").utf8))
        }
        print("envrun bench exec: \(runs) runs per mode, concurrency \(concurrency), program print('ok')")
        print("mode            runs/s     p50 ms    p99 ms")
        for f in figs {
            print(String(format: "%-14@ %8.1f  %8.2f  %8.2f", f.mode as NSString, f.runsPerSecond, f.p50Ms, f.p99Ms))
        }
        func fig(_ m: ExecBenchmark.Mode) -> ExecBenchmark.Figures? { figs.first { $0.mode == m.title } }
        guard let bare = fig(.bare) else { return }
        if let cold = fig(.cold) {
            print(String(format: "cold p50 overhead over bare: %+.2f ms (target <= 2 ms)", cold.p50Ms - bare.p50Ms))
            print(String(format: "cold runs/s / bare runs/s:   %.2fx", cold.runsPerSecond / bare.runsPerSecond))
        }
        if let warm = fig(.warm) {
            print(String(format: "warm runs/s / bare runs/s:   %.2fx (target >= 3x)", warm.runsPerSecond / bare.runsPerSecond))
            print(String(format: "warm p50 / bare p50:         %.2fx", warm.p50Ms / bare.p50Ms))
        }
    }
}
