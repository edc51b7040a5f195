import ArgumentParser
import EnvrunSandbox
import Foundation

/// `envrun bench exec`: bare python3 vs the cold sandbox vs the warm pool, from one run.
struct BenchExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Benchmark the executor: bare /usr/bin/python3, the cold sandbox and the warm pool.",
        discussion: """
            Runs a trivial Python program (print('ok')) RUNS times in each mode with the same
            concurrency and prints runs/s, p50 and p99 latency per mode, and the ratios: the cold
            sandbox's p50 overhead over bare python3 in ms, and the warm pool's runs/s over bare.
            The modes are interleaved in blocks of --block runs by every worker, so they share the
            machine's load and each mode pays for its own clean-up (a cold run's network namespace is
            torn down by the kernel after the run returns); runs/s is
            concurrency x 1000 / mean latency. Bare runs are posix_spawn + waitpid with stdout to
            /dev/null (no capture). Needs root.
            """)

    @Option(name: .long, help: "Runs per mode.")
    var runs = 300

    @Option(name: .long, help: "Concurrent runs (sandbox slots); default: the number of cores.")
    var concurrency = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Runs of one mode before switching to the next.")
    var block = 20

    func validate() throws {
        guard block >= 1 else { throw ValidationError("--block must be at least 1") }
        guard runs >= 10 else { throw ValidationError("--runs must be at least 10") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let figs = try await ExecBenchmark.run(runs: runs, concurrency: concurrency, block: block) { msg in
            FileHandle.standardError.write(Data((msg + "\n").utf8))
        }
        print("envrun bench exec: \(runs) runs per mode, concurrency \(concurrency), program print('ok')")
        print("mode            runs/s     p50 ms    p99 ms")
        for f in figs {
            print(String(format: "%-14@ %8.1f  %8.2f  %8.2f", f.mode as NSString, f.runsPerSecond, f.p50Ms, f.p99Ms))
        }
        let bare = figs[0], cold = figs[1], warm = figs[2]
        print(String(format: "cold p50 overhead over bare: %+.2f ms (target <= 2 ms)", cold.p50Ms - bare.p50Ms))
        print(String(format: "cold runs/s / bare runs/s:   %.2fx", cold.runsPerSecond / bare.runsPerSecond))
        print(String(format: "warm runs/s / bare runs/s:   %.2fx (target >= 3x)", warm.runsPerSecond / bare.runsPerSecond))
        print(String(format: "warm p50 / bare p50:         %.2fx", warm.p50Ms / bare.p50Ms))
    }
}
