import EnvrunCore
import EnvrunRewards
import Foundation
import Logging

/// The `Environment` over a directory of task packs: single-turn scoring and multi-turn episodes.
/// Immutable after init (packs and rewarders); the open episodes live in an actor.
public struct PackEnvironment: Environment, BatchScoring {
    struct Entry: Sendable {
        let pack: TaskPack
        let rewarder: any Rewarder
    }

    public let packsDirectory: URL?
    let entries: [Entry]
    let byName: [String: Int]
    let episodes: any EpisodeStoring
    let logger: Logger
    let limits: PackLimits

    /// Serves already loaded packs (tests, embedding).
    public init(
        packs: [TaskPack], dependencies: RewardDependencies = RewardDependencies(),
        episodes: EpisodeSettings = EpisodeSettings(), logger: Logger = Logger(label: "envrun.tasks"),
        packsDirectory: URL? = nil, limits: PackLimits = .default,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        let models = ScalarRMCache(factory: dependencies.scalarRMFactory)
        entries = packs.map {
            Entry(pack: $0, rewarder: RewarderFactory.make(spec: $0.manifest.reward, dependencies: dependencies, models: models))
        }
        var byName: [String: Int] = [:]
        for (i, e) in entries.enumerated() where byName[e.pack.name] == nil { byName[e.pack.name] = i }
        self.byName = byName
        self.episodes = EpisodeStore(settings: episodes, now: clock)
        self.logger = logger
        self.packsDirectory = packsDirectory
        self.limits = limits
    }

    /// Loads every pack of `directory` (default: `PackLibrary.defaultDirectory()`, i.e. `Tasks/`); a pack
    /// that breaks a rule or passes a cap of `limits` is an error naming its file (the server does not start).
    public init(
        directory: URL? = nil, dependencies: RewardDependencies = RewardDependencies(),
        episodes: EpisodeSettings = EpisodeSettings(), logger: Logger = Logger(label: "envrun.tasks"),
        limits: PackLimits = .default
    ) throws {
        guard let dir = directory ?? PackLibrary.defaultDirectory() else {
            throw EnvrunError(
                .notFound, "no Tasks/ folder found near the current directory or the executable; pass --packs DIR",
                field: "packs")
        }
        let packs = try PackLibrary.load(directory: dir, limits: limits)
        logger.info("loaded \(packs.count) packs from \(dir.path)")
        self.init(
            packs: packs, dependencies: dependencies, episodes: episodes, logger: logger, packsDirectory: dir,
            limits: limits)
    }

    public func pack(named name: String) throws -> TaskPack { try entry(name).pack }

    public var loadedPacks: [TaskPack] { entries.map(\.pack) }

    /// The reward source of a pack (used by `envrun pack validate`).
    public func rewarder(pack name: String) throws -> any Rewarder { try entry(name).rewarder }

    func entry(_ name: String) throws -> Entry {
        guard let i = byName[name] else {
            throw EnvrunError(.notFound, "unknown pack \"\(name)\"", field: "pack")
        }
        return entries[i]
    }

    // MARK: Environment

    public func packs() -> [PackInfo] { entries.map(\.pack.info) }

    public func task(pack name: String, id: String) throws -> TaskSpec? {
        let pack = try entry(name).pack
        return pack.task(id: id).map(pack.rendered)
    }

    public func tasks(pack name: String, offset: Int, limit: Int) throws -> [TaskSpec] {
        let pack = try entry(name).pack
        guard offset >= 0 else { throw EnvrunError(.invalidInput, "must be 0 or more (got \(offset))", field: "offset") }
        guard limit >= 1 else { throw EnvrunError(.invalidInput, "must be 1 or more (got \(limit))", field: "limit") }
        guard offset < pack.tasks.count else { return [] }
        let end = offset + min(limit, pack.tasks.count - offset)
        // A page stops before it passes `limits.pageBytes` (it always holds one task): the caller pages on
        // from `offset + count`, as `next_offset` says.
        var page: [TaskSpec] = []
        var bytes = 0
        for task in pack.tasks[offset..<end] {
            let shown = pack.rendered(task)
            bytes += shown.approximateBytes
            if !page.isEmpty && bytes > limits.pageBytes { break }
            page.append(shown)
        }
        return page
    }

    public func score(_ item: ScoreItem) async throws -> RewardResult {
        let entry = try entry(item.pack)
        let task = try resolve(item, in: entry.pack)
        return await entry.rewarder.score(task: task, response: item.response)
    }

    /// Scores a batch, in input order: each item gets its result or its own error (unknown pack or task,
    /// bad inline task) without failing the others. Items of one pack go to its rewarder together, so a
    /// reward model sees the whole batch at once.
    public func score(batch items: [ScoreItem]) async -> [Result<RewardResult, EnvrunError>] {
        var results = [Result<RewardResult, EnvrunError>?](repeating: nil, count: items.count)
        var groups: [String: [(index: Int, task: TaskSpec, response: String)]] = [:]
        for (i, item) in items.enumerated() {
            do {
                let entry = try entry(item.pack)
                groups[item.pack, default: []].append((i, try resolve(item, in: entry.pack), item.response))
            } catch let error as EnvrunError {
                results[i] = .failure(error)
            } catch {
                results[i] = .failure(EnvrunError(.internal, "\(error)"))
            }
        }
        await withTaskGroup(of: [(Int, RewardResult)].self) { group in
            for (pack, members) in groups {
                guard let rewarder = try? entry(pack).rewarder else { continue }
                group.addTask {
                    let scored = await rewarder.score(batch: members.map { ($0.task, $0.response) })
                    return zip(members, scored).map { ($0.index, $1) }
                }
            }
            for await scored in group {
                for (i, r) in scored { results[i] = .success(r) }
            }
        }
        return results.map { $0! }
    }

    func resolve(_ item: ScoreItem, in pack: TaskPack) throws -> TaskSpec {
        if let inline = item.task {
            guard !inline.prompt.isEmpty || inline.answer != nil || inline.tests != nil || inline.ioCases != nil else {
                throw EnvrunError(.invalidInput, "an inline task needs a prompt and what its reward checks", field: "task")
            }
            return inline
        }
        guard let id = item.taskID else {
            throw EnvrunError(.invalidInput, "give task_id or an inline task", field: "task_id")
        }
        guard let task = pack.task(id: id) else {
            throw EnvrunError(.notFound, "pack \"\(pack.name)\" has no task \"\(id)\"", field: "task_id")
        }
        return task
    }

    public func reset(pack name: String, taskID: String) async throws -> StepResult {
        try await reset(pack: name, taskID: taskID, client: .shared)
    }

    /// Opens an episode counted against `client`'s quota: a client over its quota loses its own least
    /// recently used episode, never another client's.
    public func reset(pack name: String, taskID: String, client: ClientKey) async throws -> StepResult {
        let pack = try entry(name).pack
        guard let task = pack.task(id: taskID) else {
            throw EnvrunError(.notFound, "pack \"\(name)\" has no task \"\(taskID)\"", field: "task_id")
        }
        let episode = await episodes.open(
            client: client, pack: name, task: task, maxTurns: pack.manifest.reward.maxTurns)
        return StepResult(
            episodeID: episode.id, observation: pack.manifest.render(prompt: task.prompt), done: false, turn: 0)
    }

    /// Scores one submission. A failed check (status `error`) does not use up a turn: the episode stays
    /// open and the observation says so. The episode ends when the task is solved or after `max_turns`.
    public func step(episodeID: String, action: String) async throws -> StepResult {
        var episode = try await episodes.begin(episodeID)
        let rewarder: any Rewarder
        do {
            rewarder = try entry(episode.pack).rewarder
        } catch {
            await episodes.save(episode)
            throw error
        }
        let result = await rewarder.score(task: episode.task, response: action)
        if result.status == .error {
            await episodes.save(episode)
            let reason = result.details["error"] ?? "unknown error"
            return StepResult(
                episodeID: episode.id, observation: "The check could not be made (\(reason)); submit again.",
                reward: result, done: false, turn: episode.turn, turnRewards: episode.turnRewards)
        }
        episode.turn += 1
        episode.turnRewards.append(result.reward)
        let solved = result.status == .ok && (result.components["all_passed"].map { $0 == 1 } ?? (result.reward >= 1))
        episode.done = solved || episode.turn >= episode.maxTurns || result.status == .notApplicable
        await episodes.save(episode)
        return StepResult(
            episodeID: episode.id, observation: Self.observation(result, solved: solved, episode: episode),
            reward: result, done: episode.done, turn: episode.turn, turnRewards: episode.turnRewards)
    }

    static func observation(_ result: RewardResult, solved: Bool, episode: Episode) -> String {
        if solved { return "Correct. The episode is over." }
        if episode.done { return "Not solved, and no turns are left. The episode is over." }
        var lines: [String] = []
        if let passed = result.details["passed"] {
            lines.append("Your solution did not pass every test (passed \(passed)).")
        } else {
            lines.append("Your answer is not correct.")
        }
        if let feedback = result.details["feedback"], !feedback.isEmpty {
            lines.append("Feedback:\n\(feedback)")
        }
        let left = episode.maxTurns - episode.turn
        lines.append("Submit a corrected, complete solution (\(left) turn\(left == 1 ? "" : "s") left).")
        return lines.joined(separator: "\n")
    }

    public func close(episodeID: String) async { await episodes.close(episodeID) }

    /// How many episodes are open.
    public func openEpisodes() async -> Int { await episodes.counts().open }

    /// Open, evicted and expired episodes (for `/metrics`).
    public func episodeCounts() async -> EpisodeCounts { await episodes.counts() }
}

extension TaskSpec {
    /// The UTF-8 bytes of the task's text fields: about what it takes in a listing.
    var approximateBytes: Int {
        let texts = [id, prompt, answer, tests, entryPoint, testSetup, reference, language].compactMap { $0 }
        let cases = (ioCases ?? []).reduce(0) { $0 + $1.input.utf8.count + $1.output.utf8.count }
        let meta = (metadata ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        return texts.reduce(0) { $0 + $1.utf8.count } + cases + meta
    }
}
