import EnvrunCore
import Foundation

/// SandboxFusion's `POST /run_code` request (bytedance/SandboxFusion `RunCodeRequest`): `files` are
/// base64, timeouts are seconds, `memory_limit_MB` -1 means the default.
public struct RunCodeRequest: Codable, Sendable, Equatable {
    public var code: String
    public var language: String
    public var compileTimeout: Double?
    public var runTimeout: Double?
    public var memoryLimitMB: Int?
    public var stdin: String?
    public var files: [String: String?]?
    public var fetchFiles: [String]?
    public var args: [String]?

    public init(code: String, language: String, runTimeout: Double? = nil, stdin: String? = nil) {
        self.code = code
        self.language = language
        self.runTimeout = runTimeout
        self.stdin = stdin
    }

    enum CodingKeys: String, CodingKey {
        case code, language, stdin, files, args
        case compileTimeout = "compile_timeout"
        case runTimeout = "run_timeout"
        case memoryLimitMB = "memory_limit_MB"
        case fetchFiles = "fetch_files"
    }
}

/// SandboxFusion's `CommandRunResult`.
public struct CommandRunResult: Codable, Sendable, Equatable {
    /// `Finished`, `Error` (sandbox side) or `TimeLimitExceeded`.
    public var status: String
    public var executionTime: Double?
    public var returnCode: Int?
    public var stdout: String?
    public var stderr: String?

    enum CodingKeys: String, CodingKey {
        case status, stdout, stderr
        case executionTime = "execution_time"
        case returnCode = "return_code"
    }
}

/// SandboxFusion's `RunCodeResponse`, plus an `envrun` object with our verdict.
public struct RunCodeResponse: Codable, Sendable, Equatable {
    /// `Success`, `Failed` (non-zero exit or time limit) or `SandboxError`.
    public var status: String
    public var message: String
    public var compileResult: CommandRunResult?
    public var runResult: CommandRunResult?
    public var executorPodName: String?
    public var files: [String: String]
    public var envrun: Extension

    public struct Extension: Codable, Sendable, Equatable {
        public var verdict: Verdict
        public var detail: String?
        public var truncated: Bool
    }

    enum CodingKeys: String, CodingKey {
        case status, message, files, envrun
        case compileResult = "compile_result"
        case runResult = "run_result"
        case executorPodName = "executor_pod_name"
    }
}

/// The mapping between SandboxFusion's shapes and `ExecRequest`/`ExecResult`.
enum SandboxFusionMapping {
    /// SandboxFusion language names that differ from ours.
    static let aliases: [String: String] = ["python3": "python", "nodejs": "javascript", "js": "javascript",
                                            "c++": "cpp", "sh": "bash"]

    static func execRequest(_ r: RunCodeRequest, configuration: ServerConfiguration) throws -> ExecRequest {
        let language = aliases[r.language] ?? r.language
        if let known = configuration.languages, !known.contains(language) {
            throw APIError.invalid(
                "unsupported language '\(r.language)'; supported: \(known.sorted().joined(separator: ", "))",
                field: "language")
        }
        if r.code.isEmpty { throw APIError.invalid("code must not be empty", field: "code") }
        var limits = ExecLimits()
        if let t = r.runTimeout {
            guard t > 0, t <= configuration.maxRunTimeoutSeconds else {
                throw APIError.invalid("run_timeout must be in (0, \(configuration.maxRunTimeoutSeconds)] seconds",
                                       field: "run_timeout")
            }
            limits.wallMs = Int((t * 1000).rounded())
        }
        if let t = r.compileTimeout, !(t > 0) {
            throw APIError.invalid("compile_timeout must be positive", field: "compile_timeout")
        }
        if let m = r.memoryLimitMB, m != -1 {
            guard m > 0 else { throw APIError.invalid("memory_limit_MB must be positive or -1", field: "memory_limit_MB") }
            limits.memoryMB = m
        }
        var files: [String: String] = [:]
        if (r.files?.count ?? 0) > maxFiles {
            throw APIError.invalid("at most \(maxFiles) files, got \(r.files?.count ?? 0)", field: "files")
        }
        var totalBytes = 0
        for (name, encoded) in r.files ?? [:] {
            guard let encoded else { continue }
            // Checked here, so that a name or size the work dir cannot hold is the client's 400, not a
            // sandbox_error counted as envrun's fault.
            let shown = String(name.prefix(64))
            guard ExecRequest.isPlainFileName(name) else {
                throw APIError.invalid(
                    "file names must be plain names in the work dir (1-255 bytes, no '/', not '.' or '..')",
                    field: "files.\(shown)")
            }
            guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8) else {
                throw APIError.invalid("file content must be base64 of UTF-8 text", field: "files.\(shown)")
            }
            totalBytes += data.count
            if totalBytes > maxFileBytes {
                throw APIError.invalid("files add up to more than \(maxFileBytes) bytes", field: "files")
            }
            files[name] = text
        }
        var exec = ExecRequest(language: language, source: r.code, stdin: r.stdin ?? "", limits: limits, files: files)
        if let fetch = r.fetchFiles, !fetch.isEmpty {
            guard fetch.count <= maxFiles else {
                throw APIError.invalid("at most \(maxFiles) fetch_files, got \(fetch.count)", field: "fetch_files")
            }
            for name in fetch where !ExecRequest.isPlainFileName(name) {
                throw APIError.invalid(
                    "fetch_files names must be plain names in the work dir (no '/', not '.' or '..')",
                    field: "fetch_files.\(name.prefix(64))")
            }
            exec.fetchFiles = fetch
        }
        return exec
    }

    /// Files per request, and their decoded bytes in all (the slot's work dir is a 64 MB tmpfs).
    static let maxFiles = 256
    static let maxFileBytes = 32 << 20

    static func response(_ result: ExecResult) -> RunCodeResponse {
        let seconds = result.wallMs / 1000
        let returnCode = result.exitCode.map(Int.init) ?? result.signal.map { 128 + Int($0) }
        var status = "Failed"
        var message = ""
        var compile: CommandRunResult?
        var run: CommandRunResult?
        // A compiled language's compile step, when it ran and succeeded (a failed one is the compile_error case).
        let compiled = result.compileMs.map {
            CommandRunResult(status: "Finished", executionTime: $0 / 1000, returnCode: 0, stdout: "", stderr: "")
        }
        switch result.verdict {
        case .ok:
            status = "Success"
            compile = compiled
            run = CommandRunResult(status: "Finished", executionTime: seconds, returnCode: returnCode ?? 0,
                                   stdout: result.stdout, stderr: result.stderr)
        case .compileError:
            compile = CommandRunResult(status: "Finished", executionTime: seconds, returnCode: returnCode ?? 1,
                                       stdout: result.stdout, stderr: result.stderr)
        case .timeLimit:
            compile = compiled
            run = CommandRunResult(status: "TimeLimitExceeded", executionTime: seconds, returnCode: returnCode,
                                   stdout: result.stdout, stderr: result.stderr)
        case .sandboxError:
            status = "SandboxError"
            message = result.detail ?? "the sandbox failed to run the program"
            run = CommandRunResult(status: "Error", executionTime: seconds, returnCode: returnCode,
                                   stdout: result.stdout, stderr: result.stderr)
        case .runtimeError, .memoryLimit, .outputLimit, .securityViolation:
            compile = compiled
            run = CommandRunResult(status: "Finished", executionTime: seconds, returnCode: returnCode ?? 1,
                                   stdout: result.stdout, stderr: result.stderr)
        }
        return RunCodeResponse(
            status: status, message: message, compileResult: compile, runResult: run, executorPodName: "envrun",
            files: result.fetchedFiles ?? [:], envrun: .init(verdict: result.verdict, detail: result.detail, truncated: result.truncated))
    }
}
