import EnvrunCore
import Foundation

/// Limits on open multi-turn episodes.
public struct EpisodeSettings: Sendable, Equatable {
    /// At most this many episodes are kept in all; opening one more evicts the least recently used of
    /// all (a backstop: the per-client quota is what keeps one client from evicting the others).
    public var capacity: Int
    /// At most this many episodes per client (bearer token and peer address); a client opening one more
    /// evicts its own least recently used.
    public var perClient: Int
    /// An episode untouched for this long is forgotten.
    public var ttl: Duration

    public init(capacity: Int = 10_000, perClient: Int = 1_000, ttl: Duration = .seconds(3600)) {
        self.capacity = max(1, capacity)
        self.perClient = max(1, perClient)
        self.ttl = ttl
    }
}

/// What the episode store has done, for `/metrics`.
public struct EpisodeCounts: Sendable, Equatable {
    public var open = 0
    /// Clients with at least one open episode.
    public var clients = 0
    /// Evicted because their client opened one over its quota.
    public var evictedByClientQuota = 0
    /// Evicted because the store was full.
    public var evictedByCapacity = 0
    /// Forgotten after `ttl` unused.
    public var expired = 0

    public init() {}
}

/// One open episode.
struct Episode: Sendable {
    let id: String
    let client: ClientKey
    let pack: String
    let task: TaskSpec
    let maxTurns: Int
    var turn = 0
    var turnRewards: [Double] = []
    var done = false
    /// A step is being scored; a concurrent step on the same episode is refused.
    var busy = false
    var lastUsed: ContinuousClock.Instant
}

/// Where open episodes live. `EpisodeStore` keeps them in this process; a store shared by several
/// servers (Redis) can stand behind the same calls.
protocol EpisodeStoring: Sendable {
    /// Opens an episode for `client`, first evicting what its quota and the global cap require.
    func open(client: ClientKey, pack: String, task: TaskSpec, maxTurns: Int) async -> Episode
    /// The episode for a step, marked busy; unknown, expired, finished and busy episodes are errors.
    func begin(_ id: String) async throws -> Episode
    /// Stores the episode after its step (not busy any more); one evicted meanwhile stays gone.
    func save(_ episode: Episode) async
    /// Forgets an episode (a step running on it meanwhile finds it gone when it saves).
    func close(_ id: String) async
    func counts() async -> EpisodeCounts
}

/// The open episodes of this process: shared mutable state, so an actor. Bounded per client and in all,
/// expiring after `ttl`; every call is O(1) amortised (see `EpisodeTable`).
actor EpisodeStore: EpisodeStoring {
    let settings: EpisodeSettings
    let now: @Sendable () -> ContinuousClock.Instant
    private var table = EpisodeTable()
    private var tally = EpisodeCounts()

    init(settings: EpisodeSettings, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.settings = settings
        self.now = now
    }

    var count: Int { table.count }

    func counts() -> EpisodeCounts {
        var c = tally
        c.open = table.count
        c.clients = table.clientCount
        return c
    }

    func open(client: ClientKey, pack: String, task: TaskSpec, maxTurns: Int) -> Episode {
        expire()
        while table.count(of: client) >= settings.perClient, let own = table.coldest(of: client) {
            table.remove(own.id)
            tally.evictedByClientQuota += 1
        }
        while table.count >= settings.capacity, let oldest = table.coldest {
            table.remove(oldest.id)
            tally.evictedByCapacity += 1
        }
        let episode = Episode(
            id: UUID().uuidString.lowercased(), client: client, pack: pack, task: task, maxTurns: maxTurns,
            lastUsed: now())
        table.insert(episode)
        return episode
    }

    func begin(_ id: String) throws -> Episode {
        expire()
        guard var episode = table.episode(id) else {
            throw EnvrunError(.notFound, "no open episode \(id) (unknown or expired)", field: "episode_id")
        }
        guard !episode.done else {
            throw EnvrunError(.invalidInput, "episode \(id) is finished; start a new one", field: "episode_id")
        }
        guard !episode.busy else {
            throw EnvrunError(.invalidInput, "episode \(id) is already taking a step", field: "episode_id")
        }
        episode.busy = true
        episode.lastUsed = now()
        table.update(episode)
        return episode
    }

    func save(_ episode: Episode) {
        var e = episode
        e.busy = false
        e.lastUsed = now()
        table.update(e)
    }

    func close(_ id: String) {
        table.remove(id)
    }

    /// Forgets episodes unused for `ttl`, from the cold end of the recency list: it is ordered by
    /// `lastUsed` (every touch stamps `now()` and moves the episode to the hot end), so the walk stops
    /// at the first live one and each episode is removed once — O(1) amortised per call.
    private func expire() {
        let cutoff = now() - settings.ttl
        while let oldest = table.coldest, oldest.lastUsed < cutoff {
            table.remove(oldest.id)
            tally.expired += 1
        }
    }
}
