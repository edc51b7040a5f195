import ArgumentParser
import EnvrunSandbox
import EnvrunServer
import Foundation
import Logging

/// `envrun bench serve`: HTTP overhead of scoring, as a ratio against the same work in-process.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Benchmark the server: requests/s and p50/p99 over loopback HTTP next to in-process scoring.",
        discussion: """
            Starts the server in this process on 127.0.0.1 (a free port) and drives POST /v1/score with
            async-http-client from --clients concurrent clients; then runs the same batches through the same
            batch scorer in-process. Workloads: math (batches of --math-batch items from --math-pack, half
            right and half wrong answers) and code (batches of --code-batch items from --code-pack: reference
            solutions and failing programs). Prints median round figures and ratio = in-process ÷ HTTP req/s.
            Measure on a release build: swift build -c release; .build/release/envrun bench serve
            """)

    @Option(help: "Directory of task packs (default: the shipped Tasks/).") var packs: String?
    @Option(help: "Math pack to score.") var mathPack: String = "gsm8k"
    @Option(help: "Items per math request.") var mathBatch: Int = 64
    @Option(help: "Code pack to score (empty to skip).") var codePack: String = "humaneval"
    @Option(help: "Items per code request.") var codeBatch: Int = 8
    @Option(help: "Concurrent clients, in-process and over HTTP alike.") var clients: Int = 4
    @Option(help: "Seconds per measured phase.") var seconds: Double = 4
    @Option(help: "Rounds (the median round is reported).") var rounds: Int = 3
    @Flag(help: "Start even without cgroup memory and pids limits (see envrun serve --help).") var allowNoCgroups = false

    func validate() throws {
        guard mathBatch > 0, codeBatch > 0, clients > 0, seconds > 0, rounds > 0 else {
            throw ValidationError("--math-batch, --code-batch, --clients, --seconds and --rounds must be positive")
        }
    }

    func run() async throws {
        var logger = Logger(label: "envrun.bench")
        logger.logLevel = .warning
        var options = ServeBench.Options()
        options.clients = clients
        options.seconds = seconds
        options.rounds = rounds
        let parts = try await ServerWiring.make(
            packsDirectory: packs, sandbox: SandboxConfiguration(requireCgroups: !allowNoCgroups), logger: logger)
        let rows = try await parts.closing {
            var workloads = [try BenchWorkloads.math(parts.environment, pack: mathPack, batch: mathBatch)]
            if !codePack.isEmpty {
                workloads.append(try BenchWorkloads.code(parts.environment, pack: codePack, batch: codeBatch))
            }
            return try await ServeBench.run(
                environment: parts.environment, executor: parts.executor, workloads: workloads, options: options,
                logger: logger, progress: { line in FileHandle.standardError.write(Data("  \(line)\n".utf8)) })
        }
        print(ServeBench.render(rows, options: options), terminator: "")
    }
}
