import EnvrunCore

/// Scores stdin/stdout runs against their cases and writes the feedback naming the first failing case.
struct IOReport {
    let cases: [IOCase]
    let results: [ExecResult]
    let comparator: OutputComparator
    let chars: Int

    func outcome() -> JudgeOutcome {
        var passed = 0
        var feedback: String?
        for (index, (c, r)) in zip(cases, results).enumerated() {
            let ok = r.verdict == .ok && !r.truncated && comparator.matches(expected: c.output, got: r.stdout)
            if ok {
                passed += 1
            } else if feedback == nil {
                feedback = describe(index: index, case: c, result: r)
            }
        }
        let verdict = results.first { $0.verdict != .ok }?.verdict ?? .ok
        return JudgeOutcome(passed: passed, total: cases.count, verdict: verdict, feedback: feedback, runs: results)
    }

    func describe(index: Int, case c: IOCase, result r: ExecResult) -> String {
        let head = "case \(index + 1) of \(cases.count)"
        switch r.verdict {
        case .compileError:
            return "compile error:\n" + clip(r.detail ?? r.stderr)
        case .ok:
            return "\(head): wrong answer\ninput:\n\(clip(c.input))\nexpected:\n\(clip(c.output))\ngot:\n\(clip(r.stdout))"
        default:
            var text = "\(head): \(r.verdict.rawValue)"
            if let kind = r.timeLimitKind { text += " (\(kind.rawValue))" }
            if let code = r.exitCode, code != 0 { text += ", exit code \(code)" }
            if let sig = r.signal { text += ", signal \(sig)" }
            text += "\ninput:\n\(clip(c.input))"
            if !r.stderr.isEmpty { text += "\nstderr:\n" + clip(String(r.stderr.suffix(chars * 4))) }
            return text
        }
    }

    func clip(_ s: String) -> String {
        s.count <= chars ? s : String(s.prefix(chars)) + "…[\(s.count - chars) more chars]"
    }
}
