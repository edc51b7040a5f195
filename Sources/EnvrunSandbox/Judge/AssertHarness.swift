import EnvrunCore
import Foundation

/// The Python RPC harness of `Sandbox/harness/` (protocol in its README.md): the files bundled into one job
/// source, the framing of the job's stdin, and the parsing of the supervisor's nonce-tagged verdict line.
public struct AssertHarness: Sendable {
    /// Bundled in this order into one program; `supervisor.py` ends by calling `main()`.
    public static let files = ["codec.py", "untrusted.py", "trusted.py", "supervisor.py"]
    static let verdictPrefix = "ENVRUN-JUDGE"

    /// The job's program: the harness files concatenated.
    public let source: String

    public init(source: String) {
        self.source = source
    }

    /// Loads the harness from a `harness` directory (one holding `supervisor.py` and its siblings).
    public init(directory: URL) throws {
        var parts: [String] = []
        for name in Self.files {
            let url = directory.appendingPathComponent(name)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw EnvrunError(.notFound, "cannot read the judge harness file", field: url.path)
            }
            parts.append("# ---- \(name)\n" + text)
        }
        source = parts.joined(separator: "\n")
    }

    /// Finds `Sandbox/harness`: `$ENVRUN_SANDBOX_DIR/harness`, else the first `Sandbox/harness` above the
    /// working directory, the executable, or this source file (a checkout).
    public static func locate() throws -> AssertHarness {
        if let dir = ProcessInfo.processInfo.environment["ENVRUN_SANDBOX_DIR"], !dir.isEmpty {
            return try AssertHarness(directory: URL(fileURLWithPath: dir).appendingPathComponent("harness"))
        }
        let starts = RepositoryLocator.defaultStarts + [URL(fileURLWithPath: #filePath).deletingLastPathComponent()]
        if let found = RepositoryLocator.find("Sandbox/harness", from: starts, levels: 8, where: {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("supervisor.py").path)
        }) {
            return try AssertHarness(directory: found)
        }
        throw EnvrunError(
            .notFound, "Sandbox/harness not found; set ENVRUN_SANDBOX_DIR to the Sandbox directory",
            field: "ENVRUN_SANDBOX_DIR")
    }

    /// A fresh random nonce (128 bits, hex). The program never sees it.
    public static func makeNonce() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(rng.next() as UInt32, radix: 16).leftPadded(to: 8) }.joined()
    }

    struct Spec: Encodable {
        var nonce: String
        var tests: String
        var setup: String?
        var prelude: String?
        var entry_point: String?
        var budget_ms: Int
        /// The job runs in envrun's sandbox (its own pid namespace and uid): the supervisor may then
        /// `kill(-1)` to end every process of the program, those that left its process group too.
        var sandboxed: Bool
    }

    /// The job's stdin: header, the program frame, then the tests frame (which alone carries the nonce).
    public static func stdin(program: String, tests: AssertTests, nonce: String, budgetMs: Int,
                             sandboxed: Bool = false) -> String
    {
        let spec = Spec(nonce: nonce, tests: tests.tests, setup: tests.setup, prelude: tests.prelude,
                        entry_point: tests.entryPoint, budget_ms: budgetMs, sandboxed: sandboxed)
        let specText = (try? JSONEncoder().encode(spec)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        func frame(_ s: String) -> String { "\(s.utf8.count)\n" + s }
        return "ENVRUN-HARNESS 1\n" + frame(program) + frame(specText)
    }

    struct Report: Decodable {
        var status: String
        var passed: Int?
        var total: Int?
        var verdict: String?
        var time_limit_kind: String?
        var feedback: String?
        var detail: String?
    }

    /// The outcome of one harness job. Only a line `ENVRUN-JUDGE <nonce> <json>` with this run's nonce counts;
    /// without one the run failed (0 passed) with the job's verdict.
    public static func outcome(of result: ExecResult, nonce: String, tests: AssertTests) -> JudgeOutcome {
        let prefix = "\(verdictPrefix) \(nonce) "
        let line = result.stdout.split(separator: "\n").last { $0.hasPrefix(prefix) }
        guard let line else {
            let verdict = result.verdict == .ok ? Verdict.sandboxError : result.verdict
            let why = result.signal.map { "killed by signal \($0)" } ?? "exit code \(result.exitCode.map(String.init) ?? "?")"
            return JudgeOutcome(
                passed: 0, total: approximateAssertCount(tests.tests), verdict: verdict,
                feedback: "the judge reported no verdict (\(result.verdict.rawValue), \(why))"
                    + (result.stderr.isEmpty ? "" : ": " + String(result.stderr.suffix(500))),
                runs: [result])
        }
        guard let report = decodeReport(line.dropFirst(prefix.count)) else {
            // Only the supervisor knows the nonce, so it printed this line; what makes it unreadable
            // came from the program (text it raised or printed). The program's failure, not ours.
            return JudgeOutcome(
                passed: 0, total: approximateAssertCount(tests.tests), verdict: .runtimeError,
                feedback: "the judge's report held text from the program that could not be read", runs: [result])
        }
        guard report.status == "ok", let passed = report.passed, let total = report.total,
            let verdict = report.verdict.flatMap(Verdict.init(rawValue:)), passed >= 0, passed <= total
        else {
            return JudgeOutcome(
                passed: 0, total: approximateAssertCount(tests.tests), verdict: .sandboxError,
                feedback: "judge harness error: " + (report.detail ?? report.status), runs: [result])
        }
        return JudgeOutcome(passed: passed, total: total, verdict: verdict, feedback: report.feedback, runs: [result])
    }

    /// The report, read with lone UTF-16 surrogate escapes (`\\ud800` without its pair), which
    /// Python's json writes and JSONDecoder rejects, replaced by U+FFFD.
    static func decodeReport(_ text: Substring) -> Report? {
        try? JSONDecoder().decode(Report.self, from: Data(replacingLoneSurrogates(text).utf8))
    }

    static func replacingLoneSurrogates(_ text: Substring) -> String {
        let u = Array(text.utf8)
        guard u.count >= 6, text.contains("\\u") else { return String(text) }
        func hex(_ i: Int) -> Int? {
            guard i + 6 <= u.count, u[i] == UInt8(ascii: "\\"), u[i + 1] == UInt8(ascii: "u") else { return nil }
            var v = 0
            for b in u[(i + 2)..<(i + 6)] {
                guard let d = Int(String(UnicodeScalar(b)), radix: 16) else { return nil }
                v = v * 16 + d
            }
            return v
        }
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            if u[i] != UInt8(ascii: "\\") || i + 1 >= u.count {
                out.append(u[i])
                i += 1
                continue
            }
            guard let v = hex(i) else {
                out.append(contentsOf: u[i...(i + 1)])  // another escape, e.g. \\\\: copied whole
                i += 2
                continue
            }
            if (0xD800...0xDBFF).contains(v), let w = hex(i + 6), (0xDC00...0xDFFF).contains(w) {
                out.append(contentsOf: u[i..<(i + 12)])
                i += 12
            } else if (0xD800...0xDFFF).contains(v) {
                out.append(contentsOf: Array("\\ufffd".utf8))
                i += 6
            } else {
                out.append(contentsOf: u[i..<(i + 6)])
                i += 6
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lines starting with `assert`: what the supervisor counts, for runs where it could not report.
    static func approximateAssertCount(_ tests: String) -> Int {
        tests.split(whereSeparator: \.isNewline).filter {
            let t = $0.drop { $0 == " " || $0 == "\t" }
            return t.hasPrefix("assert ") || t.hasPrefix("assert(")
        }.count
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}

extension AssertHarness {
    /// For MBPP-style tasks without an entry point: the first function the program defines at top level
    /// (`def NAME(`) that the tests call (`NAME(`). Declaring it lets a program function that shadows a builtin
    /// (MBPP task 126 defines `sum`) be called by the tests; other builtin names stay the tests' own.
    public static func guessEntryPoint(tests: String, program: String) -> String? {
        let defined = program.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            guard line.hasPrefix("def ") else { return nil }
            let name = line.dropFirst(4).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return name.isEmpty ? nil : String(name)
        }
        let called = Set(identifiersCalled(in: tests))
        return defined.first { called.contains($0) }
    }

    static func identifiersCalled(in text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var previous: Character = " "
        for ch in text {
            if ch.isLetter || ch.isNumber || ch == "_" {
                if current.isEmpty && previous == "." { current = "." }  // attribute calls do not count
                current.append(ch)
            } else {
                if ch == "(" && !current.isEmpty && !current.hasPrefix(".") { out.append(current) }
                current = ""
            }
            previous = ch
        }
        return out
    }
}
