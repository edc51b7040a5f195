// The contract between whoever wants code run (rewards, server, CLI) and the sandbox that runs it.

/// How a sandboxed run ended. A program that fails is a *result*, never a thrown error;
/// `sandboxError` alone means envrun itself failed and must never be confused with the program's fault.
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case ok
    case runtimeError = "runtime_error"
    case timeLimit = "time_limit"
    case memoryLimit = "memory_limit"
    case outputLimit = "output_limit"
    case compileError = "compile_error"
    case securityViolation = "security_violation"
    case sandboxError = "sandbox_error"
}

/// Which clock a `time_limit` verdict was measured on.
public enum TimeLimitKind: String, Codable, Sendable {
    case cpu, wall
}

/// Resource limits of one run. `nil` fields take the language's defaults from `Sandbox/`.
public struct ExecLimits: Codable, Sendable, Equatable {
    public var cpuMs: Int?
    public var wallMs: Int?
    public var memoryMB: Int?
    public var outputBytes: Int?
    public var processes: Int?
    public var fileSizeMB: Int?

    public init(
        cpuMs: Int? = nil, wallMs: Int? = nil, memoryMB: Int? = nil, outputBytes: Int? = nil,
        processes: Int? = nil, fileSizeMB: Int? = nil
    ) {
        self.cpuMs = cpuMs
        self.wallMs = wallMs
        self.memoryMB = memoryMB
        self.outputBytes = outputBytes
        self.processes = processes
        self.fileSizeMB = fileSizeMB
    }
}

/// One program to run: a language id from `Sandbox/languages`, its source, and optional stdin.
public struct ExecRequest: Codable, Sendable, Equatable {
    public var language: String
    public var source: String
    public var stdin: String
    public var limits: ExecLimits
    /// Extra files written into the fresh work dir before the run (name -> content); each name must be
    /// `isPlainFileName`.
    public var files: [String: String]
    /// Files to read back out of the work dir after the run (plain names; SandboxFusion's `fetch_files`).
    /// Only regular files are read, never through a link, each up to `ExecResult.maxFetchedBytes`.
    public var fetchFiles: [String]?

    /// A name the executor can write into the work dir: one path component of 1-255 bytes (no `/`, no
    /// NUL, not `.` or `..`). The executor and the wire formats both check it, so a name the executor
    /// would refuse is the client's 400 at the edge, not a `sandbox_error`.
    public static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name != "." && name != ".."
            && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
    }

    public init(
        language: String, source: String, stdin: String = "", limits: ExecLimits = ExecLimits(),
        files: [String: String] = [:]
    ) {
        self.language = language
        self.source = source
        self.stdin = stdin
        self.limits = limits
        self.files = files
    }
}

/// What came back from one run.
public struct ExecResult: Codable, Sendable, Equatable {
    public var verdict: Verdict
    public var timeLimitKind: TimeLimitKind?
    public var exitCode: Int32?
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    public var cpuMs: Double
    public var wallMs: Double
    public var peakMemoryKb: Int
    /// True when stdout or stderr was cut at the output cap.
    public var truncated: Bool
    /// Human-readable context: the compiler's message, the failing set-up step and errno, ...
    public var detail: String?
    /// For a `sandbox_error`: the step of envrun's that failed, its errno and the slot.
    public var failure: SandboxFailure?
    /// Milliseconds from the executor taking the request to the program starting (slot wait and set-up).
    public var startMs: Double?
    /// Wall time of the compile step (compiled languages that compiled).
    public var compileMs: Double?
    /// The `fetchFiles` that were there to read: name -> base64 of the bytes.
    public var fetchedFiles: [String: String]?
    /// Largest file `fetchFiles` reads; a larger one is left out and named in `detail`.
    public static let maxFetchedBytes = 8 << 20
    /// Most bytes `fetchFiles` reads for one run, all files together.
    public static let maxFetchedTotalBytes = 16 << 20

    public init(
        verdict: Verdict, timeLimitKind: TimeLimitKind? = nil, exitCode: Int32? = nil,
        signal: Int32? = nil, stdout: String = "", stderr: String = "", cpuMs: Double = 0,
        wallMs: Double = 0, peakMemoryKb: Int = 0, truncated: Bool = false, detail: String? = nil
    ) {
        self.verdict = verdict
        self.timeLimitKind = timeLimitKind
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.cpuMs = cpuMs
        self.wallMs = wallMs
        self.peakMemoryKb = peakMemoryKb
        self.truncated = truncated
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case verdict, stdout, stderr, truncated, detail, signal
        case timeLimitKind = "time_limit_kind"
        case exitCode = "exit_code"
        case cpuMs = "cpu_ms"
        case wallMs = "wall_ms"
        case peakMemoryKb = "peak_memory_kb"
        case failure = "sandbox_failure"
        case startMs = "start_ms"
        case compileMs = "compile_ms"
        case fetchedFiles = "fetched_files"
    }
}

/// Runs untrusted code. The real implementation is `EnvrunSandbox.SandboxExecutor`;
/// tests of higher layers may use an in-memory fake.
public protocol CodeExecutor: Sendable {
    func run(_ request: ExecRequest) async -> ExecResult
}

/// Where envrun itself failed to run a program (a `sandbox_error`): the step (a fixed name from envrun's
/// code, e.g. "pipe", "warm worker: send", "mount-tmpfs"), the errno when there was one, and the slot.
public struct SandboxFailure: Codable, Sendable, Equatable {
    public var step: String
    public var errno: Int32?
    public var slot: Int?
    public init(step: String, errno: Int32? = nil, slot: Int? = nil) {
        self.step = step
        self.errno = errno
        self.slot = slot
    }
}
