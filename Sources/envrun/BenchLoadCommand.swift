import ArgumentParser
import EnvrunCore
import EnvrunServer
import Foundation

/// `envrun bench load`: a mixed, hostile workload against `envrun serve` on loopback, with counts per
/// class, 429s apart, and the server's RSS and fds over time.
struct BenchLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load-test envrun serve on loopback: mixed and hostile workload, counts per class, RSS and fds over time.",
        discussion: """
            By default it starts its own server (this executable: serve --host 127.0.0.1 --port 0 --packs DIR \
            plus every --serve-arg) and stops it with SIGTERM at the end; or it drives --url (loopback only) \
            and samples --pid.

            For --duration seconds, --concurrency clients each send one job after another, drawn by the --mix \
            weights from the classes: math (/v1/score, 16 GSM8K or MATH-500 items, half right), run_code (every \
            language the server runs: right programs, exit 3, compile errors), score_code (HumanEval/MBPP \
            references and stubs), hostile (fork, memory, output, thread and disk bombs, loops), attack (the \
            containment attack classes), bad_request (malformed JSON, wrong types, unknown ids and routes, \
            oversized bodies), episode (reset, a failing step, a passing step), get_reward (OpenRLHF). Every \
            --attack-every seconds, --attack-burst containment attacks are fired at once; a 429 is retried \
            after its Retry-After until each attack has its verdict.

            Every answer is checked against what it must be. Exit status 1 on any 5xx, request without an \
            answer, sandbox_error, unexpected answer or attack not contained.

            Example (release build): .build/release/envrun bench load --duration 300 --concurrency 32 \
            --serve-arg '--sandbox-slots 2'
            """)

    @Option(help: "Seconds of load.") var duration: Double = 60
    @Option(help: "Concurrent clients of the mix.") var concurrency: Int = 16
    @Option(help: "Containment attacks fired at once per burst (0: no bursts).") var attackBurst: Int = 50
    @Option(help: "Seconds between bursts.") var attackEvery: Double = 30
    @Option(help: "Seconds between samples of the server's RSS and fds (and progress lines).") var sampleEvery: Double = 5
    @Option(help: "RSS and fd growth is measured from the first sample at or after this many seconds (default: a fifth of the run, at most 60).")
    var warmup: Double?
    @Option(help: "Seed of the workers' draws.") var seed: UInt64 = 1
    @Option(help: "Class weights, e.g. 'math=30,hostile=0' (others keep their defaults: \(Self.defaultMix)).")
    var mix: String?
    @Option(help: "Languages to run (those whose probe program fails are left out).")
    var languages: String = LoadWorkload.knownLanguages.joined(separator: ",")
    @Option(help: "Directory of task packs (default: the shipped Tasks/).") var packs: String?
    @Option(parsing: .unconditionalSingleValue, help: "Flags for the server the bench starts, split on spaces (repeatable), e.g. '--sandbox-slots 2'.")
    var serveArg: [String] = []
    @Option(help: "Write the started server's log to this file.") var serverLog: String?
    @Option(help: "Drive this running server instead of starting one (loopback only), e.g. http://127.0.0.1:8080.")
    var url: String?
    @Option(help: "Pid of the --url server (for its RSS and fds).") var pid: Int32?
    @Option(help: "Bearer token (default: $ENVRUN_TOKEN).") var token: String?
    @Option(help: "The server's max body bytes (default: --max-body-bytes among --serve-arg, else 8388608).")
    var maxBodyBytes: Int?
    @Option(help: "Seconds the bench keeps an idle connection (default: 15, or half the server's --idle-timeout among --serve-arg).")
    var clientIdleTimeout: Double?
    @Flag(help: "Print the report as JSON on stdout.") var json = false

    static var defaultMix: String {
        LoadClass.allCases.compactMap { c in LoadClass.defaultWeights[c].map { "\(c.rawValue)=\($0)" } }.joined(separator: ",")
    }

    var serveArgs: [String] { serveArg.flatMap { $0.split(separator: " ").map(String.init) } }

    /// The value of `flag` among the --serve-arg flags.
    func serveValue(_ flag: String) -> String? {
        let args = serveArgs
        return args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil }
    }

    func validate() throws {
        guard duration > 0, concurrency > 0, attackBurst >= 0, attackEvery > 0, sampleEvery > 0 else {
            throw ValidationError("--duration, --concurrency, --attack-every and --sample-every must be positive, --attack-burst >= 0")
        }
        if url != nil, pid == nil { throw ValidationError("--url needs --pid (the server's RSS and fds are sampled)") }
        if url == nil, pid != nil { throw ValidationError("--pid goes with --url") }
        if url != nil, !serveArg.isEmpty { throw ValidationError("--serve-arg is for the server the bench starts, not --url") }
        _ = try weights()
    }

    func weights() throws -> [LoadClass: Int] {
        var weights = LoadClass.defaultWeights
        for part in (mix ?? "").split(separator: ",") {
            let kv = part.split(separator: "=")
            guard kv.count == 2, let c = LoadClass(rawValue: String(kv[0])), c != .attackBurst, let w = Int(kv[1]), w >= 0 else {
                throw ValidationError("--mix: '\(part)' is not CLASS=WEIGHT (classes: \(Self.defaultMix))")
            }
            weights[c] = w
        }
        return weights
    }

    func run() async throws {
        // Ctrl-C or SIGTERM: stop the server this bench started, then exit.
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                ServeChild.terminateAll()
                FileHandle.standardError.write(Data("  interrupted: the server was sent SIGTERM\n".utf8))
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        var options = LoadBench.Options()
        options.duration = duration
        options.concurrency = concurrency
        options.attackBurst = attackBurst
        options.attackEvery = attackEvery
        options.sampleEvery = sampleEvery
        options.warmup = warmup
        options.seed = seed
        options.weights = try weights()
        options.token = token ?? ProcessInfo.processInfo.environment["ENVRUN_TOKEN"]
        let args = serveArgs
        let bodyLimit = maxBodyBytes ?? serveValue("--max-body-bytes").flatMap { Int($0) } ?? 8 * 1024 * 1024
        options.clientIdleTimeout = clientIdleTimeout ?? serveValue("--idle-timeout").flatMap(Double.init).map { min(15, $0 / 2) } ?? 15
        let server: LoadBench.Server
        if let url, let pid {
            do {
                server = .existing(try LoadBench.Target(url: url, pid: pid))
            } catch let error as EnvrunError {
                throw ValidationError(error.message)
            }
        } else {
            server = .start(executable: ServeChild.ownExecutable, extra: args, log: serverLog)
        }
        let report = try await LoadBench.session(
            server: server, packsDirectory: packs, languages: languages.split(separator: ",").map(String.init),
            maxBodyBytes: bodyLimit, options: options,
            progress: { FileHandle.standardError.write(Data("  \($0)\n".utf8)) })
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.render(), terminator: "")
        }
        if !report.passed { throw ExitCode.failure }
    }
}
