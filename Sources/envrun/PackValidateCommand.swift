import ArgumentParser
import EnvrunCore
import EnvrunRewards
import EnvrunSandbox
import EnvrunTasks
import Foundation

extension PackCommand {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check packs: schema, unique ids, required fields, gold answers, reference solutions.",
            discussion: """
                Loading checks the manifest schema (errors name the field and line) and the task file (unique \
                ids, line numbers). Then: every task has what its verifier needs; every gold answer of a math \
                pack parses with the math verifier; every reference solution of a code pack passes its tests \
                in the sandbox (with a progress bar); a generated pack matches its generator; a named reward \
                model exists. Exits non-zero when any problem is found (with --strict, also when a check \
                could not run).
                """)
        @OptionGroup var options: PackCommand.PacksOption
        @Argument(help: "Packs to validate (default: all).") var names: [String] = []
        @Flag(help: "Skip running reference solutions in the sandbox.") var noRun = false
        @Option(help: "Reference solutions judged at once.") var concurrency: Int = 2
        @Flag(help: "Print every reference solution's result, not only the failures.") var verbose = false
        @Flag(help: "Fail when a check could not run (no sandbox, no math verifier), not only on problems.")
        var strict = false

        func run() async throws {
            let packs = try options.load(names)
            let needsSandbox = !noRun && packs.contains { $0.tasks.contains { $0.reference != nil } }
            var executor: SandboxExecutor?
            var judge: (any CodeJudge)?
            if needsSandbox {
                do {
                    let e = try SandboxExecutor(configuration: SandboxConfiguration(slots: max(1, concurrency)))
                    executor = e
                    judge = try SandboxJudge(executor: e)
                } catch {
                    FileHandle.standardError.write(Data("sandbox unavailable, reference solutions will not run: \(error)\n".utf8))
                }
            }
            let validator = PackValidator(dependencies: RewardDependencies.live(codeJudge: judge), concurrency: concurrency)
            var failed = 0
            for pack in packs {
                let bar = ProgressBar(label: "\(pack.name) references")
                let report = await validator.validate(pack, runReferences: !noRun) { done, total in
                    bar.update(done, total)
                }
                bar.finish()
                print(summary(report))
                if verbose {
                    for (id, o) in report.referenceResults {
                        print("  \(id): \(o.verdict.rawValue) \(o.passed)/\(o.total)")
                    }
                }
                for problem in report.problems.prefix(50) { print("  \(problem)") }
                if report.problems.count > 50 { print("  ... and \(report.problems.count - 50) more") }
                for s in report.skipped { print("  skipped: \(s)") }
                if !report.ok || (strict && !report.skipped.isEmpty) { failed += 1 }
            }
            if let executor { await executor.shutdown() }
            if failed > 0 { throw ExitCode(1) }
        }

        func summary(_ r: PackValidationReport) -> String {
            var parts = ["\(r.tasks) tasks"]
            if r.goldChecked > 0 { parts.append("gold answers parse \(r.goldPassed)/\(r.goldChecked)") }
            if r.referencesRun > 0 { parts.append("references pass \(r.referencesPassed)/\(r.referencesRun)") }
            parts.append(r.ok ? "OK" : "\(r.problems.count) problem\(r.problems.count == 1 ? "" : "s")")
            if !r.skipped.isEmpty { parts.append("\(r.skipped.count) check\(r.skipped.count == 1 ? "" : "s") skipped") }
            return "\(r.pack): " + parts.joined(separator: ", ")
        }
    }
}

/// A one-line progress bar on stderr (redrawn in place on a terminal, every 10% otherwise).
final class ProgressBar: @unchecked Sendable {
    let label: String
    let tty = isatty(2) == 1
    let lock = NSLock()
    var lastDecile = -1
    var drawn = false

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard total > 0 else { return }
        drawn = true
        let width = 30
        let filled = done * width / total
        let line = "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] \(done)/\(total)"
        if tty {
            FileHandle.standardError.write(Data(("\r" + line).utf8))
        } else if done * 10 / total != lastDecile {
            lastDecile = done * 10 / total
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if tty && drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
