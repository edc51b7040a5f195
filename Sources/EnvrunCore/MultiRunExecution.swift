// Additive to the executor contract: "compile once, run many" for stdin/stdout judging.

/// An executor that can prepare a program once (compile it, write its files) and run it on several stdins.
/// `SandboxJudge` uses it when the executor offers it, and falls back to one `run` per case otherwise
/// (which compiles a compiled language once per case).
public protocol MultiRunExecutor: CodeExecutor {
    /// Runs `request.source` once per element of `stdins` (ignoring `request.stdin`), each run in a fresh
    /// process under `request.limits`, and returns one result per stdin, in order. When the program does not
    /// compile, every result is that `compile_error`.
    func run(_ request: ExecRequest, stdins: [String]) async -> [ExecResult]
}
