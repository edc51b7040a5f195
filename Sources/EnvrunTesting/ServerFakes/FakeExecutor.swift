import EnvrunCore
import Foundation

/// An in-memory `CodeExecutor` for server tests. It does not run anything: it reads the source and
/// answers with the verdict a real sandbox would give for a few recognisable programs.
///
/// - `while True` → `time_limit`; `os.fork`/`socket` → `security_violation`; `raise` → `runtime_error`;
///   `#error` in a cpp program → `compile_error`; `SANDBOX_BROKEN` → `sandbox_error`;
///   otherwise `ok`, printing the argument of the first `print("…")` followed by stdin.
public struct FakeExecutor: CodeExecutor {
    public init() {}

    public func run(_ request: ExecRequest) async -> ExecResult {
        let src = request.source
        if src.contains("SANDBOX_BROKEN") {
            return ExecResult(verdict: .sandboxError, detail: "fake: sandbox set-up failed")
        }
        if request.language == "cpp" && src.contains("#error") {
            return ExecResult(verdict: .compileError, exitCode: 1, stderr: "error: #error directive")
        }
        if src.contains("while True") {
            return ExecResult(verdict: .timeLimit, timeLimitKind: .wall, signal: 9,
                              wallMs: Double(request.limits.wallMs ?? 1000))
        }
        if src.contains("os.fork") || src.contains("socket") {
            return ExecResult(verdict: .securityViolation, signal: 31, detail: "fake: blocked syscall")
        }
        if src.contains("raise") {
            return ExecResult(verdict: .runtimeError, exitCode: 1, stderr: "Traceback: fake error\n", wallMs: 12)
        }
        var out = ""
        if let open = src.range(of: "print(\""), let close = src[open.upperBound...].range(of: "\")") {
            out = String(src[open.upperBound..<close.lowerBound]) + "\n"
        }
        for (name, content) in request.files.sorted(by: { $0.key < $1.key }) { out += "\(name):\(content)\n" }
        return ExecResult(verdict: .ok, exitCode: 0, stdout: out + request.stdin, wallMs: 15, peakMemoryKb: 9000)
    }
}
