import EnvrunCore
import EnvrunRewards
import EnvrunSandbox
import EnvrunTasks
import Foundation

/// `envrun bench judge`: assert-style code judging, the harness run as a job's program (how every item was
/// judged before the warm workers loaded it) against the preloaded harness, on the same items in one run.
public enum JudgeBenchmark {
    /// One judged program: a task's reference solution (which should pass) or a wrong stub (which should not).
    public struct Item: Sendable {
        public var pack: String
        public var task: TaskSpec
        public var settings: CodeRewardSettings
        public var kind: Kind
        public var program: String
    }

    public enum Kind: String, Sendable { case reference, stub }

    public enum Path: String, CaseIterable, Sendable {
        /// The harness bundle written as the job's program: the warm worker compiles and imports it per item.
        case source
        /// The warm worker loaded the harness once and forks its supervisor per item.
        case preloaded

        public var title: String {
            switch self {
            case .source: "harness as program"
            case .preloaded: "preloaded harness"
            }
        }
    }

    public struct Figures: Sendable {
        public var path: Path
        public var items: Int
        public var itemsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var referencesPassed: Int
        public var references: Int
        public var stubsFailed: Int
        public var stubs: Int
    }

    public struct Disagreement: Sendable {
        public var item: Item
        public var source: JudgeOutcome
        public var preloaded: JudgeOutcome
    }

    public struct Report: Sendable {
        public var figures: [Figures]
        public var items: Int
        public var agreements: Int
        public var disagreements: [Disagreement]
    }

    /// Every task of the `code_tests` packs that has a reference solution: the reference, and a stub that keeps
    /// the reference's helpers but returns None from the entry point. `limit`: tasks per pack.
    public static func items(packs: [TaskPack], limit: Int? = nil) -> [Item] {
        var out: [Item] = []
        for pack in packs where pack.manifest.reward.verifier == .codeTests {
            let settings = pack.manifest.reward.code
            var taken = 0
            for task in pack.tasks {
                if let limit, taken >= limit { break }
                guard let reference = task.reference, let tests = task.tests else { continue }
                taken += 1
                out.append(Item(pack: pack.name, task: task, settings: settings, kind: .reference, program: reference))
                let entry = task.entryPoint ?? AssertHarness.guessEntryPoint(tests: tests, program: reference)
                if let entry {
                    out.append(Item(pack: pack.name, task: task, settings: settings, kind: .stub,
                                    program: reference + "\n\ndef \(entry)(*args, **kwargs):\n    return None\n"))
                }
            }
        }
        return out
    }

    /// Judges every item on both paths with `concurrency` items in flight. The paths take turns in blocks of
    /// `block` items (so both see the same machine load over time); items/s = items over the summed wall time
    /// of the path's blocks; p50/p99 are per-item latencies.
    public static func run(items: [Item], concurrency: Int, block: Int = 64,
                           progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in })
        async throws -> Report
    {
        var executors: [Path: SandboxExecutor] = [:]
        for path in Path.allCases {
            do {
                executors[path] = try SandboxExecutor(configuration: SandboxConfiguration(
                    slots: concurrency, preloadHarness: path == .preloaded))
            } catch {
                for e in executors.values { await e.shutdown() }
                throw error
            }
        }
        guard let harness = executors[.source]!.policy.harness else {
            for e in executors.values { await e.shutdown() }
            throw EnvrunError(.notFound, "the sandbox folder has no harness/ to judge with", field: "Sandbox/harness")
        }
        let judges = executors.mapValues {
            CodeReward(judge: SandboxJudge(executor: $0, harness: harness), settings: CodeRewardSettings())
        }
        var outcomes: [Path: [JudgeOutcome?]] = [.source: Array(repeating: nil, count: items.count),
                                                 .preloaded: Array(repeating: nil, count: items.count)]
        var latencies: [Path: [Double]] = [:]
        var wall: [Path: Double] = [:]
        var start = 0
        var done = 0
        while start < items.count {
            let range = start..<min(items.count, start + block)
            for path in Path.allCases {
                let judge = judges[path]!
                let began = ContinuousClock.now
                let results = await judgeAll(Array(range), items: items, judge: judge, concurrency: concurrency)
                wall[path, default: 0] += (ContinuousClock.now - began).milliseconds
                for (i, outcome, ms) in results {
                    outcomes[path]![i] = outcome
                    latencies[path, default: []].append(ms)
                }
                done += range.count
                progress(done, items.count * Path.allCases.count)
            }
            start = range.upperBound
        }
        for e in executors.values { await e.shutdown() }
        let figures = Path.allCases.map { path -> Figures in
            let o = outcomes[path]!.map { $0! }
            let lat = latencies[path, default: []].sorted()
            let refs = items.indices.filter { items[$0].kind == .reference }
            let stubs = items.indices.filter { items[$0].kind == .stub }
            return Figures(
                path: path, items: items.count, itemsPerSecond: Double(items.count) / max(1e-9, wall[path, default: 0] / 1000),
                p50Ms: percentile(lat, 0.5), p99Ms: percentile(lat, 0.99),
                referencesPassed: refs.filter { o[$0].allPassed && o[$0].verdict == .ok }.count, references: refs.count,
                stubsFailed: stubs.filter { !o[$0].allPassed }.count, stubs: stubs.count)
        }
        var disagreements: [Disagreement] = []
        for i in items.indices {
            let a = outcomes[.source]![i]!, b = outcomes[.preloaded]![i]!
            if !sameVerdict(a, b) { disagreements.append(Disagreement(item: items[i], source: a, preloaded: b)) }
        }
        return Report(figures: figures, items: items.count, agreements: items.count - disagreements.count,
                      disagreements: disagreements)
    }

    /// Two judgements agree when they count the same asserts passed of the same total with the same verdict.
    public static func sameVerdict(_ a: JudgeOutcome, _ b: JudgeOutcome) -> Bool {
        a.passed == b.passed && a.total == b.total && a.verdict == b.verdict
    }

    static func judgeAll(_ indices: [Int], items: [Item], judge: CodeReward, concurrency: Int) async
        -> [(Int, JudgeOutcome, Double)]
    {
        await withTaskGroup(of: (Int, JudgeOutcome, Double).self) { group in
            var next = 0
            func add() {
                let i = indices[next]
                next += 1
                group.addTask {
                    let began = ContinuousClock.now
                    var reward = judge
                    reward.settings = items[i].settings
                    let outcome = await reward.judge(task: items[i].task, program: items[i].program)
                        ?? JudgeOutcome(passed: 0, total: 0, verdict: .sandboxError, feedback: "no judge")
                    return (i, outcome, (ContinuousClock.now - began).milliseconds)
                }
            }
            while next < min(concurrency, indices.count) { add() }
            var out: [(Int, JudgeOutcome, Double)] = []
            while let r = await group.next() {
                out.append(r)
                if next < indices.count { add() }
            }
            return out
        }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

extension Duration {
    fileprivate var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
