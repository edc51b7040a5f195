import EnvrunCore

/// One episode on one pack task, as the session protocols (OpenEnv, Open Reward Standard, NeMo Gym) see
/// it: the adapters keep one of these per session and turn its results into their wire shapes. All the
/// scoring goes through the `Environment`'s episodes (`reset`/`step`), so a multi-turn pack continues until
/// it is done, whichever protocol drives it.
struct PackEpisode: Sendable {
    let pack: String
    let taskID: String
    let episodeID: String
    /// The task's rendered prompt.
    let prompt: String
    /// Steps scored so far (a failed check is not a step: the episode stays where it was).
    private(set) var stepCount = 0
    private(set) var done = false
    private(set) var last: StepResult?

    /// Opens an episode on the task named by `taskID`, or at `index`, or picked by `seed` (the same seed
    /// always picks the same task), or at random. Unknown packs and tasks are `EnvrunError.notFound`.
    static func open(
        _ environment: any EnvrunCore.Environment, pack: String, taskID: String? = nil, index: Int? = nil,
        seed: Int? = nil, client: ClientKey
    ) async throws -> PackEpisode {
        let id = try TaskPicker.taskID(environment, pack: pack, taskID: taskID, index: index, seed: seed)
        let start = try await environment.reset(pack: pack, taskID: id, client: client)
        return PackEpisode(pack: pack, taskID: id, episodeID: start.episodeID, prompt: start.observation)
    }

    /// Scores one response. A failed check (our fault: status `error`) comes back with `masked` set and
    /// does not count as a step.
    mutating func submit(_ environment: any EnvrunCore.Environment, response: String) async throws -> StepResult {
        let result = try await environment.step(episodeID: episodeID, action: response)
        if !RewardMarking.isMasked(result.reward) { stepCount += 1 }
        done = result.done
        last = result
        return result
    }
}

/// Which task a session protocol's reset or task query names.
enum TaskPicker {
    static func info(_ environment: any EnvrunCore.Environment, pack: String) throws -> PackInfo {
        guard let info = environment.packs().first(where: { $0.name == pack }) else {
            throw EnvrunError(.notFound, "unknown environment '\(pack)'", field: "env_name")
        }
        return info
    }

    static func taskID(
        _ environment: any EnvrunCore.Environment, pack: String, taskID: String?, index: Int?, seed: Int?
    ) throws -> String {
        let info = try info(environment, pack: pack)
        if let taskID { return taskID }
        guard info.taskCount > 0 else { throw EnvrunError(.notFound, "environment '\(pack)' has no tasks") }
        let i: Int
        if let index {
            guard (0..<info.taskCount).contains(index) else {
                throw EnvrunError(.notFound, "task index \(index) is out of range 0..<\(info.taskCount)", field: "index")
            }
            i = index
        } else if let seed {
            var rng = SplitMix64(seed: UInt64(bitPattern: Int64(seed)))
            i = Int(rng.next() % UInt64(info.taskCount))
        } else {
            i = Int.random(in: 0..<info.taskCount)
        }
        return try task(environment, pack: pack, index: i).id
    }

    /// The task at `index` (rendered prompt, secrets included: callers strip them before showing it).
    static func task(_ environment: any EnvrunCore.Environment, pack: String, index: Int) throws -> TaskSpec {
        guard let task = try environment.tasks(pack: pack, offset: index, limit: 1).first else {
            throw EnvrunError(.notFound, "task index \(index) is out of range", field: "index")
        }
        return task
    }
}

/// How an infrastructure failure reaches a trainer: never as a reward. A result whose status is `error`
/// (the check could not be made: a judge down, a sandbox failure of ours) has no reward on any protocol
/// surface — `null` where the protocol allows it, with a mask flag beside it. Whatever the response under
/// judgement causes (a crash, a timeout, garbage) is its own verdict with status `ok`.
enum RewardMarking {
    static func isMasked(_ result: RewardResult?) -> Bool { result?.status == .error }

    /// The reward a protocol reports: nil for a masked result.
    static func reward(_ result: RewardResult?) -> Double? {
        guard let result, result.status != .error else { return nil }
        return result.reward
    }

    /// Why a result is masked, for protocols with a reason field.
    static func failureReason(_ result: RewardResult?) -> String? {
        guard let result, result.status == .error else { return nil }
        return result.details["error"] ?? "the check could not be made"
    }
}
