import EnvrunCore
import EnvrunRewards
import EnvrunVerify
import Foundation

/// One thing wrong with a pack (or a check that could not be made).
public struct PackProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case fields, gold, reference, generator, model, unchecked
    }
    public var kind: Kind
    public var taskID: String?
    public var message: String

    public var description: String {
        "[\(kind.rawValue)]" + (taskID.map { " \($0):" } ?? "") + " \(message)"
    }
}

/// What `envrun pack validate` found. Schema, task-file and unique-id errors stop loading before this.
public struct PackValidationReport: Sendable {
    public var pack: String
    public var tasks: Int
    public var goldChecked = 0
    public var goldPassed = 0
    public var referencesRun = 0
    public var referencesPassed = 0
    /// Per reference run: task id, verdict, passed/total, feedback (the per-problem report).
    public var referenceResults: [(id: String, outcome: JudgeOutcome)] = []
    public var problems: [PackProblem] = []
    /// Checks that could not run, with the reason (no sandbox, no verifier...). Not failures, but not passes.
    public var skipped: [String] = []

    public var ok: Bool { problems.isEmpty }
}

/// Checks a loaded pack beyond its schema: the fields its verifier needs, that every gold answer parses,
/// that every reference solution passes its tests in the sandbox, that a generated pack matches its
/// generator, that a named reward model exists.
public struct PackValidator: Sendable {
    public var dependencies: RewardDependencies
    /// Reference solutions judged at once.
    public var concurrency: Int

    public init(dependencies: RewardDependencies, concurrency: Int = 2) {
        self.dependencies = dependencies
        self.concurrency = max(1, concurrency)
    }

    public func validate(
        _ pack: TaskPack, runReferences: Bool = true,
        progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) async -> PackValidationReport {
        var report = PackValidationReport(pack: pack.name, tasks: pack.tasks.count)
        let spec = pack.manifest.reward
        checkFields(pack, &report)
        if spec.verifier == .math || (spec.verifier == .hybrid && spec.hybridRule == .math) {
            checkGold(pack, options: spec.math ?? dependencies.mathOptions, &report)
        }
        if let generator = pack.manifest.generator { checkGenerator(pack, generator, &report) }
        if let model = spec.scalarRM?.model {
            if !model.contains("://") && !FileManager.default.fileExists(atPath: model) {
                report.problems.append(PackProblem(kind: .model, message: "reward model not found at \(model)"))
            } else if runReferences {
                await checkModel(pack, &report)
            }
        }
        let withReference = pack.tasks.filter { $0.reference != nil && ($0.tests != nil || $0.ioCases != nil) }
        if runReferences && !withReference.isEmpty {
            await runReferenceSolutions(withReference, spec: spec, progress: progress, &report)
        }
        return report
    }

    /// Loads the pack's reward model and scores its first task once (with `runReferences`).
    func checkModel(_ pack: TaskPack, _ report: inout PackValidationReport) async {
        guard dependencies.scalarRMFactory != nil, let task = pack.tasks.first else {
            report.skipped.append("reward model not loaded: no reward model backend is configured")
            return
        }
        let rewarder = RewarderFactory.make(
            spec: pack.manifest.reward, dependencies: dependencies, models: ScalarRMCache(factory: dependencies.scalarRMFactory))
        let result = await rewarder.score(task: task, response: "A short test response.")
        if result.status != .ok {
            report.problems.append(PackProblem(
                kind: .model, taskID: task.id, message: "reward model does not score: \(result.details["error"] ?? result.status.rawValue)"))
        }
    }

    func checkFields(_ pack: TaskPack, _ report: inout PackValidationReport) {
        let spec = pack.manifest.reward
        for task in pack.tasks {
            var missing: String?
            switch spec.verifier {
            case .math, .exact:
                if task.answer == nil { missing = "answer" }
            case .regex:
                if task.answer == nil && spec.regex.pattern == nil { missing = "answer (or reward.pattern)" }
            case .codeTests:
                if task.tests == nil { missing = "tests" }
            case .codeIO:
                if task.ioCases?.isEmpty ?? true { missing = "io_cases" }
            case .grmRule:
                if task.metadata?["grm_best"] == nil || task.metadata?["grm_count"] == nil {
                    missing = "metadata.grm_best and metadata.grm_count"
                }
            case .scalarRM, .generativeRM, .hybrid:
                break
            }
            if let missing {
                report.problems.append(PackProblem(
                    kind: .fields, taskID: task.id, message: "verifier \(spec.verifier.rawValue) needs \(missing)"))
            }
        }
    }

    func checkGold(_ pack: TaskPack, options: VerifyOptions, _ report: inout PackValidationReport) {
        // A verifier that cannot check even "1" is unavailable: say so once instead of failing every gold.
        let probe = dependencies.mathCheck("1", "\\boxed{1}", options)
        guard probe.status == .ok && probe.equivalent else {
            report.skipped.append("gold answers not checked: \(probe.message ?? "the math verifier is unavailable")")
            return
        }
        for task in pack.tasks {
            guard let gold = task.answer else { continue }
            let result = dependencies.mathCheck(gold, "\\boxed{\(gold)}", options)
            report.goldChecked += 1
            if result.status == .ok && result.equivalent {
                report.goldPassed += 1
            } else {
                report.problems.append(PackProblem(
                    kind: .gold, taskID: task.id,
                    message: "gold answer does not parse or equal itself: \(gold) (\(result.message ?? result.status.rawValue))"))
            }
        }
    }

    func checkGenerator(_ pack: TaskPack, _ generator: GeneratorSpec, _ report: inout PackValidationReport) {
        do {
            let expected = try ArithGenerator(parameters: generator.arith).generate()
            if expected != pack.tasks {
                let firstDiff = zip(expected, pack.tasks).first { $0 != $1 }?.1.id
                report.problems.append(PackProblem(
                    kind: .generator, taskID: firstDiff,
                    message: "the task file differs from what `generator` produces (\(expected.count) generated, \(pack.tasks.count) in file); regenerate it"))
            }
        } catch {
            report.problems.append(PackProblem(kind: .generator, message: "\(error)"))
        }
    }

    func runReferenceSolutions(
        _ tasks: [TaskSpec], spec: RewardSpec, progress: @escaping @Sendable (Int, Int) -> Void,
        _ report: inout PackValidationReport
    ) async {
        let code = CodeReward(judge: dependencies.codeJudge, settings: spec.code)
        guard dependencies.codeJudge != nil else {
            report.skipped.append("\(tasks.count) reference solutions not run: no sandbox judge is available")
            return
        }
        var results: [(Int, JudgeOutcome)] = []
        await withTaskGroup(of: (Int, JudgeOutcome).self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask { (i, await code.judge(task: tasks[i], program: tasks[i].reference!)!) }
            }
            while next < min(concurrency, tasks.count) { add() }
            while let r = await group.next() {
                results.append(r)
                progress(results.count, tasks.count)
                if next < tasks.count { add() }
            }
        }
        for (i, outcome) in results.sorted(by: { $0.0 < $1.0 }) {
            let task = tasks[i]
            report.referencesRun += 1
            report.referenceResults.append((task.id, outcome))
            if outcome.allPassed {
                report.referencesPassed += 1
            } else {
                let feedback = outcome.feedback.map { ": " + $0.prefix(300) } ?? ""
                report.problems.append(PackProblem(
                    kind: .reference, taskID: task.id,
                    message: "reference solution \(outcome.verdict.rawValue), passed \(outcome.passed)/\(outcome.total)\(feedback)"))
            }
        }
    }
}
