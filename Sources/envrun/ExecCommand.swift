import ArgumentParser
import EnvrunCore
import EnvrunSandbox
import Foundation

/// `envrun exec --lang python FILE [--stdin FILE] [--json]`: one program in the sandbox.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run one program in the sandbox and print its output or a JSON result.",
        discussion: """
            Languages and limits come from Sandbox/ (languages/*.json, limits.json). Without --json the
            program's stdout and stderr are passed through and the verdict goes to stderr; the exit
            status is 0 for verdict ok, 1 otherwise. Needs root (namespaces, mounts, cgroups); refuses to
            run without cgroup memory and pids limits (v1 or v2) unless --allow-no-cgroups is given.
            Example: envrun exec --lang python Sandbox/examples/hello.py --json
            """)

    @Option(name: .long, help: "Language id: python, c, cpp, javascript, bash (see Sandbox/languages).")
    var lang: String

    @Argument(help: "The program's source file.")
    var file: String

    @Option(name: .long, help: "A file whose content is the program's stdin.")
    var stdin: String?

    @Flag(name: .long, help: "Print one JSON object (verdict, exit_code, signal, stdout, stderr, cpu_ms, wall_ms, peak_memory_kb, truncated, ...).")
    var json = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Use the warm Python worker (a cold sandbox otherwise).")
    var warm = false

    @Option(name: .long, help: "CPU limit in ms (default from Sandbox/limits.json).")
    var cpuMs: Int?
    @Option(name: .long, help: "Wall limit in ms.")
    var wallMs: Int?
    @Option(name: .long, help: "Memory limit in MB.")
    var memoryMb: Int?

    @Option(name: .long, help: "The Sandbox/ policy directory (found automatically by default).")
    var sandboxDir: String?

    @Flag(name: .long, help: "Start even without cgroup memory and pids limits (refused by default; `envrun doctor` shows why they are missing). Jobs are then bounded by rlimits only, which are per process, not per run.")
    var allowNoCgroups = false

    func run() async throws {
        guard let source = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ValidationError("cannot read program file '\(file)'")
        }
        var input = ""
        if let stdin {
            guard let s = try? String(contentsOfFile: stdin, encoding: .utf8) else {
                throw ValidationError("cannot read stdin file '\(stdin)'")
            }
            input = s
        }
        let config = SandboxConfiguration(policyDirectory: sandboxDir.map { URL(fileURLWithPath: $0) }, slots: 1,
                                          warmPool: warm, requireCgroups: !allowNoCgroups)
        let executor = try SandboxExecutor(configuration: config)
        let request = ExecRequest(language: lang, source: source, stdin: input,
                                  limits: ExecLimits(cpuMs: cpuMs, wallMs: wallMs, memoryMB: memoryMb))
        let result = await executor.run(request)
        await executor.shutdown()
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            FileHandle.standardOutput.write(Data(result.stdout.utf8))
            FileHandle.standardError.write(Data(result.stderr.utf8))
            var line = "verdict: \(result.verdict.rawValue)"
            if let k = result.timeLimitKind { line += " (\(k.rawValue))" }
            line += String(format: ", wall %.1f ms, cpu %.1f ms, peak %d KB", result.wallMs, result.cpuMs, result.peakMemoryKb)
            if let d = result.detail { line += ", \(d)" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        if result.verdict != .ok { throw ExitCode(1) }
    }
}
