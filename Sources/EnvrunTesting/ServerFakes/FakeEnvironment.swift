import EnvrunCore
import Foundation
import Synchronization

/// An in-memory `Environment` for server tests: two packs with known answers, episodes kept in memory.
///
/// - `fake-math` (verifier `math`): tasks `0`…`9`, task i asks for i*i; a response is right when its last
///   number equals the answer. Inline tasks with an `answer` work the same way.
/// - `fake-code` (verifier `code_tests`, multi-turn, 3 turns): tasks `0`…`2`; a response is run by the
///   executor and rewarded 1 when its verdict is ok.
public final class FakeEnvironment: EnvrunCore.Environment {
    public static let maxTurns = 3
    private let executor: any CodeExecutor
    private let gate: ScoreGate?
    private let episodes = Mutex<[String: (pack: String, task: TaskSpec, turns: [Double])]>([:])
    private let counter = Atomic<Int>(0)

    public let mathTasks: [TaskSpec] = (0..<10).map {
        TaskSpec(id: "\($0)", prompt: "What is \($0) * \($0)?", answer: "\($0 * $0)")
    }
    public let codeTasks: [TaskSpec] = (0..<3).map {
        TaskSpec(id: "\($0)", prompt: "Write f() returning \($0).", tests: "assert f() == \($0)", entryPoint: "f")
    }

    public init(executor: any CodeExecutor = FakeExecutor(), gate: ScoreGate? = nil) {
        self.executor = executor
        self.gate = gate
    }

    public func packs() -> [PackInfo] {
        [
            PackInfo(name: "fake-math", version: "1", description: "squares", license: "MIT", verifier: "math",
                     taskCount: mathTasks.count),
            PackInfo(name: "fake-code", version: "1", description: "constants", license: "MIT",
                     verifier: "code_tests", taskCount: codeTasks.count, multiTurn: true),
        ]
    }

    private func tasksOf(_ pack: String) throws -> [TaskSpec] {
        switch pack {
        case "fake-math": return mathTasks
        case "fake-code": return codeTasks
        default: throw EnvrunError(.notFound, "unknown pack '\(pack)'", field: "pack")
        }
    }

    public func tasks(pack: String, offset: Int, limit: Int) throws -> [TaskSpec] {
        let all = try tasksOf(pack)
        guard offset < all.count else { return [] }
        return Array(all[offset..<min(all.count, offset + limit)])
    }

    private func task(pack: String, id: String) throws -> TaskSpec {
        guard let task = try tasksOf(pack).first(where: { $0.id == id }) else {
            throw EnvrunError(.notFound, "unknown task '\(id)' in pack '\(pack)'", field: "task_id")
        }
        return task
    }

    public func score(_ item: ScoreItem) async throws -> RewardResult {
        if let gate { await gate.enter() }
        let spec: TaskSpec
        if let inline = item.task {
            _ = try tasksOf(item.pack)
            spec = inline
        } else {
            spec = try task(pack: item.pack, id: item.taskID ?? "")
        }
        return try await judge(pack: item.pack, task: spec, response: item.response)
    }

    private func judge(pack: String, task: TaskSpec, response: String) async throws -> RewardResult {
        if pack == "fake-code" {
            let run = await executor.run(ExecRequest(language: task.language ?? "python", source: response))
            let ok = run.verdict == .ok
            return RewardResult(reward: ok ? 1 : 0, components: ["tests_passed": ok ? 1 : 0],
                                details: ["verdict": run.verdict.rawValue])
        }
        guard let answer = task.answer else {
            return RewardResult(reward: 0, status: .notApplicable, details: ["error": "task has no answer"])
        }
        let numbers = response.split(whereSeparator: { !($0.isNumber || $0 == "-" || $0 == ".") })
        let extracted = numbers.last.map(String.init) ?? ""
        let right = extracted == answer
        return RewardResult(reward: right ? 1 : 0, details: ["extracted": extracted, "gold": answer])
    }

    public func reset(pack: String, taskID: String) async throws -> StepResult {
        let spec = try task(pack: pack, id: taskID)
        let id = "ep-\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
        episodes.withLock { $0[id] = (pack, spec, []) }
        return StepResult(episodeID: id, observation: spec.prompt, done: false, turn: 0)
    }

    public func step(episodeID: String, action: String) async throws -> StepResult {
        guard let episode = episodes.withLock({ $0[episodeID] }) else {
            throw EnvrunError(.notFound, "unknown episode '\(episodeID)'", field: "episode_id")
        }
        if episode.turns.count >= Self.maxTurns {
            throw EnvrunError(.invalidInput, "episode '\(episodeID)' is finished", field: "episode_id")
        }
        let reward = try await judge(pack: episode.pack, task: episode.task, response: action)
        let turns = episode.turns + [reward.reward]
        let done = reward.reward >= 1 || turns.count >= Self.maxTurns
        episodes.withLock { $0[episodeID]?.turns = turns }
        let observation = done ? "done" : "feedback: \(reward.details["verdict"] ?? "wrong answer"); try again"
        return StepResult(episodeID: episodeID, observation: observation, reward: reward, done: done,
                          turn: turns.count, turnRewards: turns)
    }
}
