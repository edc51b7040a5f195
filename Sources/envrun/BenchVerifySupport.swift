import ArgumentParser
import EnvrunVerify
import Foundation

/// File and subprocess helpers of `envrun bench verify` (the Math-Verify side runs in its own Python process).
enum BenchFiles {
    static func readText(_ path: String) throws -> String {
        if path.hasSuffix(".gz") {
            let out = try BenchPython.capture("/bin/gzip", ["-dc", path])
            guard out.status == 0 else { throw ValidationError("gzip -dc \(path) failed") }
            return String(decoding: out.stdout, as: UTF8.self)
        }
        guard let d = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return String(decoding: d, as: UTF8.self)
    }
}

enum BenchPython {
    static let venv = ".venv-bench"

    struct Output { var status: Int32; var stdout: Data }

    static func capture(_ exe: String, _ args: [String], stderrToNull: Bool = false) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        if stderrToNull { p.standardError = FileHandle.nullDevice }
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: data)
    }

    static func hasMathVerify(_ python: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? capture(python, ["-c", "import math_verify"], stderrToNull: true).status) == 0
    }

    /// A Python with math-verify: the given one, .venv-bench, or a new .venv-bench when `install` is set.
    static func find(explicit: String?, install: Bool) throws -> String? {
        if let e = explicit {
            guard hasMathVerify(e) else { throw ValidationError("\(e) cannot import math_verify") }
            return e
        }
        let py = venv + "/bin/python"
        if hasMathVerify(py) { return py }
        guard install else { return nil }
        FileHandle.standardError.write(Data("bench: creating \(venv) and installing math-verify==0.9.0 (once)…\n".utf8))
        if !FileManager.default.fileExists(atPath: py) {
            guard try capture("/usr/bin/python3", ["-m", "venv", venv]).status == 0 else {
                FileHandle.standardError.write(Data("bench: python3 -m venv failed (Debian: apt-get install python3-venv)\n".utf8))
                return nil
            }
        }
        guard try capture(venv + "/bin/pip", ["install", "-q", "math-verify==0.9.0"]).status == 0, hasMathVerify(py) else {
            FileHandle.standardError.write(Data("bench: pip install math-verify failed; measuring envrun only\n".utf8))
            return nil
        }
        return py
    }

    struct MathVerifyRun: Decodable { var seconds: Double; var results: [Bool] }

    static func runMathVerify(python: String, script: String, pairs: [BenchPair]) throws -> MathVerifyRun {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-bench-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let enc = JSONEncoder()
        var text = Data()
        for p in pairs {
            text.append(try enc.encode(["gold": p.gold, "pred": p.pred]))
            text.append(0x0A)
        }
        try text.write(to: tmp)
        FileHandle.standardError.write(Data("bench: running Math-Verify on \(pairs.count) pairs…\n".utf8))
        let out = try capture(python, [script, tmp.path], stderrToNull: true)
        guard out.status == 0, let run = try? JSONDecoder().decode(MathVerifyRun.self, from: out.stdout),
            run.results.count == pairs.count else {
            throw ValidationError("Math-Verify run failed (status \(out.status))")
        }
        return run
    }
}
