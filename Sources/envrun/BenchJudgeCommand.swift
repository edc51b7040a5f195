import ArgumentParser
import EnvrunServer
import EnvrunTasks
import Foundation

/// `envrun bench judge`: assert-style judging, the harness run as the job's program vs the preloaded harness.
struct BenchJudgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Benchmark code judging: HumanEval and MBPP references and wrong stubs on both judge paths.",
        discussion: """
            Judges every task of the code_tests packs (HumanEval, MBPP) twice: its reference solution, which \
            should pass, and a stub that returns None from the entry point, which should not. Each item is \
            judged on two paths of the same sandbox: the harness written as the job's program and compiled by \
            the warm worker per item (how every item was judged before), and the preloaded harness, which the \
            warm worker loaded once and forks per item. Prints items/s, p50 and p99 per item for each path, \
            their ratio, how many references passed and stubs failed, and whether the two paths agree \
            (passed, total and verdict) on every item, listing any item where they do not.

            The paths take turns in blocks of --block items, so both see the same machine load over time; \
            items/s is the path's items over the summed wall time of its blocks. Needs root (the sandbox).
            """)

    @OptionGroup var packs: PackCommand.PacksOption

    @Argument(help: "Packs to judge (default: humaneval and mbpp).")
    var names: [String] = ["humaneval", "mbpp"]

    @Option(name: .long, help: "Items judged at once (sandbox slots per path).")
    var concurrency = 2

    @Option(name: .long, help: "Tasks per pack (default: all).")
    var limit: Int?

    @Option(name: .long, help: "Items of one path before the other path's turn.")
    var block = 64

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard block >= 1 else { throw ValidationError("--block must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let loaded = try packs.load(names)
        let items = JudgeBenchmark.items(packs: loaded, limit: limit)
        guard !items.isEmpty else {
            throw ValidationError("the packs \(names) have no code_tests tasks with a reference solution")
        }
        let bar = ProgressBar(label: "judging")
        let report = try await JudgeBenchmark.run(items: items, concurrency: concurrency, block: block) { done, total in
            bar.update(done, total)
        }
        bar.finish()
        print("envrun bench judge: \(report.items) items (\(loaded.map(\.name).joined(separator: ", ")); references and stubs), concurrency \(concurrency)")
        print("path                  items/s   p50 ms   p99 ms   references pass   stubs fail")
        for f in report.figures {
            print(f.path.title.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: "%9.1f %8.2f %8.2f", f.itemsPerSecond, f.p50Ms, f.p99Ms)
                  + "   \(f.referencesPassed)/\(f.references)".padding(toLength: 18, withPad: " ", startingAt: 0)
                  + "   \(f.stubsFailed)/\(f.stubs)")
        }
        if let a = report.figures.first(where: { $0.path == .source }),
            let b = report.figures.first(where: { $0.path == .preloaded }), a.itemsPerSecond > 0
        {
            print(String(format: "preloaded / as program: %.2fx items/s, p50 %.2fx lower", b.itemsPerSecond / a.itemsPerSecond,
                         a.p50Ms / max(1e-9, b.p50Ms)))
        }
        print("agreement (passed, total, verdict): \(report.agreements)/\(report.items)")
        for d in report.disagreements.prefix(50) {
            print("  \(d.item.pack) \(d.item.task.id) \(d.item.kind.rawValue): as program \(d.source.passed)/\(d.source.total) "
                  + "\(d.source.verdict.rawValue), preloaded \(d.preloaded.passed)/\(d.preloaded.total) \(d.preloaded.verdict.rawValue)")
        }
        if !report.disagreements.isEmpty { throw ExitCode(1) }
    }
}
