import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// **UNSANDBOXED — for tests only.** Runs programs directly on the host with `posix_spawn` (no namespaces,
/// no seccomp, no rlimits, same uid). It exists so higher layers (judging, rewards, server) can be tested
/// without the real `SandboxExecutor`. It enforces only the wall limit and the output cap; the process group it
/// creates is killed when the main process ends or times out. Never give it untrusted code outside tests.
public struct LocalProcessExecutor: MultiRunExecutor {
    public struct Language: Sendable {
        /// Name of the source file in the work dir.
        public var fileName: String
        /// Compile command run in the work dir, or nil for interpreted languages.
        public var compile: [String]?
        /// Run command; `./x` means the file x in the work dir.
        public var run: [String]

        public init(fileName: String, compile: [String]? = nil, run: [String]) {
            self.fileName = fileName
            self.compile = compile
            self.run = run
        }
    }

    public static let defaultLanguages: [String: Language] = {
        let python = Language(fileName: "main.py", run: ["/usr/bin/python3", "main.py"])
        return [
            "python": python, "python3": python,
            "c": Language(fileName: "main.c", compile: ["/usr/bin/gcc", "-O2", "-o", "main", "main.c", "-lm"],
                          run: ["./main"]),
            "cpp": Language(fileName: "main.cpp",
                            compile: ["/usr/bin/g++", "-O2", "-std=c++17", "-o", "main", "main.cpp"], run: ["./main"]),
            "javascript": Language(fileName: "main.js", run: ["/usr/bin/node", "main.js"]),
            "bash": Language(fileName: "main.sh", run: ["/bin/bash", "main.sh"]),
        ]
    }()

    public var languages: [String: Language]
    public var defaultWallMs: Int
    public var compileWallMs: Int
    public var defaultOutputBytes: Int

    public init(
        languages: [String: Language] = LocalProcessExecutor.defaultLanguages, defaultWallMs: Int = 10_000,
        compileWallMs: Int = 30_000, defaultOutputBytes: Int = 1 << 20
    ) {
        self.languages = languages
        self.defaultWallMs = defaultWallMs
        self.compileWallMs = compileWallMs
        self.defaultOutputBytes = defaultOutputBytes
    }

    public func run(_ request: ExecRequest) async -> ExecResult {
        await run(request, stdins: [request.stdin])[0]
    }

    public func run(_ request: ExecRequest, stdins: [String]) async -> [ExecResult] {
        let me = self
        return await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: me.runBlocking(request, stdins: stdins)) }.start()
        }
    }

    func runBlocking(_ request: ExecRequest, stdins: [String]) -> [ExecResult] {
        guard let language = languages[request.language] else {
            let r = ExecResult(verdict: .sandboxError, detail: "unknown language '\(request.language)'")
            return stdins.map { _ in r }
        }
        let template = "/tmp/envrun-local-XXXXXX"
        var buf = Array(template.utf8CString)
        guard let made = mkdtemp(&buf) else {
            let r = ExecResult(verdict: .sandboxError, detail: "mkdtemp failed: errno \(errno)")
            return stdins.map { _ in r }
        }
        let dir = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            for (name, content) in request.files.merging([language.fileName: request.source], uniquingKeysWith: { $1 }) {
                guard !name.contains("/") && !name.hasPrefix(".") else {
                    let r = ExecResult(verdict: .sandboxError, detail: "bad file name '\(name)'")
                    return stdins.map { _ in r }
                }
                try content.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8)
            }
        } catch {
            let r = ExecResult(verdict: .sandboxError, detail: "cannot write the work dir: \(error)")
            return stdins.map { _ in r }
        }
        if let compile = language.compile {
            let c = LocalSpawn.run(argv: compile, cwd: dir, stdin: Data(), wallMs: compileWallMs, cap: 1 << 20)
            if c.verdict != .ok {
                let detail = c.detail ?? String((c.stderr + c.stdout).prefix(4000))
                let r = ExecResult(verdict: c.verdict == .sandboxError ? .sandboxError : .compileError,
                                   exitCode: c.exitCode, stderr: c.stderr, detail: detail)
                return stdins.map { _ in r }
            }
        }
        let wall = request.limits.wallMs ?? defaultWallMs
        let cap = request.limits.outputBytes ?? defaultOutputBytes
        return stdins.map { LocalSpawn.run(argv: language.run, cwd: dir, stdin: Data($0.utf8), wallMs: wall, cap: cap) }
    }
}
