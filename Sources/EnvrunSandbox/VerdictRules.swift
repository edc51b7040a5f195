import CEnvrunSandbox
import EnvrunCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns a raw outcome into an `ExecResult`. The order is the documented precedence:
///  1. `sandbox_error`      set-up or supervision failed (our fault, never the program's)
///  2. `output_limit`       stdout or stderr passed the cap (the run was killed; output is truncated)
///  3. `time_limit` (wall)  the wall clock ran out (the whole tree was killed)
///  4. `security_violation` killed by seccomp (SIGSYS)
///  5. `time_limit` (cpu)   SIGXCPU
///  6. `memory_limit`       the memory cgroup OOM-killed a process
///  7. `time_limit` (cpu)   SIGKILL with the CPU time past half of RLIMIT_CPU (soft = hard kills)
///  8. `memory_limit`       a non-zero exit with one of the language's out-of-memory messages
///                          (MemoryError, bad_alloc, "heap out of memory")
///  9. `time_limit` (cpu)   the program ended by itself but used more CPU than its limit
///                          (RLIMIT_CPU counts whole seconds, so a 1500 ms limit is enforced at 2 s
///                          and judged here against 1500 ms)
/// 10. `runtime_error`      any other non-zero exit or signal
/// 11. `ok`                 exit status 0
enum VerdictRules {
    static func result(_ o: RawOutcome, limits: PhaseLimits, language: LanguageDefinition) -> ExecResult {
        var r = ExecResult(verdict: .ok)
        r.stdout = String(decoding: o.stdout, as: UTF8.self)
        r.stderr = String(decoding: o.stderr, as: UTF8.self)
        r.cpuMs = (o.cpuMs * 1000).rounded() / 1000
        r.wallMs = (o.wallMs * 1000).rounded() / 1000
        r.peakMemoryKb = o.maxRssKb
        r.truncated = o.truncated
        if let status = o.status {
            if envrun_wifexited(status) != 0 {
                r.exitCode = envrun_wexitstatus(status)
            } else if envrun_wifsignaled(status) != 0 {
                r.signal = envrun_wtermsig(status)
            }
        }
        if let e = o.sandboxError {
            r.verdict = .sandboxError
            r.detail = e
            r.failure = SandboxFailure(text: e)
            return r
        }
        if o.end == Int32(ENVRUN_END_OUTPUT) {
            r.verdict = .outputLimit
            r.detail = "output passed \(limits.outputBytes) bytes"
            return r
        }
        if o.end == Int32(ENVRUN_END_WALL) {
            r.verdict = .timeLimit
            r.timeLimitKind = .wall
            r.detail = "wall time passed \(limits.wallMs) ms"
            return r
        }
        let cpuLimitMs = Double(((limits.cpuMs + 999) / 1000) * 1000)
        if r.signal == SIGSYS {
            r.verdict = .securityViolation
            r.detail = "killed by the seccomp filter (a forbidden system call)"
        } else if r.signal == SIGXCPU {
            r.verdict = .timeLimit
            r.timeLimitKind = .cpu
            r.detail = "CPU time reached \(Int(cpuLimitMs)) ms"
        } else if o.oomKilled && r.exitCode != 0 {
            r.verdict = .memoryLimit
            r.detail = "the memory cgroup killed the program at \(limits.memoryMB) MB"
        } else if r.signal == SIGKILL && o.cpuMs >= cpuLimitMs * 0.5 {
            // RLIMIT_CPU with soft = hard ends in SIGKILL. The rusage figure can read well under
            // the limit on a loaded VM (measured 85-97%), and nothing else of ours sends SIGKILL
            // here (wall and output kills and OOM are classified above), so half the limit is
            // the threshold: a program that kills itself after using half its CPU budget is the
            // one case this calls time_limit.
            r.verdict = .timeLimit
            r.timeLimitKind = .cpu
            r.detail = "CPU time reached \(Int(cpuLimitMs)) ms"
        } else if r.exitCode != 0, language.memoryErrorPatterns.contains(where: { r.stderr.contains($0) }) {
            r.verdict = .memoryLimit
            r.detail = "out of memory at \(limits.memoryMB) MB"
        } else if o.cpuMs > Double(limits.cpuMs) {
            r.verdict = .timeLimit
            r.timeLimitKind = .cpu
            r.detail = "CPU time \(Int(o.cpuMs)) ms passed the limit of \(limits.cpuMs) ms"
        } else if r.exitCode == 0 {
            r.verdict = .ok
        } else {
            r.verdict = .runtimeError
            if let s = r.signal { r.detail = "killed by signal \(s)" }
        }
        return r
    }
}

extension SandboxFailure {
    /// The step and errno of one of envrun's "step: strerror" texts. The step is what comes before the
    /// last ": " when the rest is an errno's text (else the whole text), kept to a short name of
    /// lower-case letters, digits, spaces, `:`, `_` and `-` so that it is safe as a metrics label.
    init(text: String) {
        var step = text
        var number: Int32?
        if let range = text.range(of: ": ", options: .backwards),
           let code = Self.errnoByText[String(text[range.upperBound...])] {
            step = String(text[..<range.lowerBound])
            number = code
        }
        let allowed = step.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || " :_-".unicodeScalars.contains($0)
        }
        self.init(step: allowed && step.count <= 48 ? step : "other", errno: number)
    }

    private static let errnoByText: [String: Int32] = {
        var map: [String: Int32] = [:]
        for code in Int32(1)...Int32(133) { map[String(cString: strerror(code))] = code }
        return map
    }()
}
