import EnvrunCore
import Foundation

/// Limits on open multi-turn episodes.
public struct EpisodeSettings: Sendable, Equatable {
    /// At most this many episodes are kept; opening one more evicts the least recently used.
    public var capacity: Int
    /// An episode untouched for this long is forgotten.
    public var ttl: Duration

    public init(capacity: Int = 10_000, ttl: Duration = .seconds(3600)) {
        self.capacity = max(1, capacity)
        self.ttl = ttl
    }
}

/// One open episode.
struct Episode: Sendable {
    let id: String
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

/// The open episodes: shared mutable state, so an actor. Bounded in count and expiring after `ttl`.
actor EpisodeStore {
    let settings: EpisodeSettings
    let now: @Sendable () -> ContinuousClock.Instant
    private var episodes: [String: Episode] = [:]
    private(set) var evicted = 0

    init(settings: EpisodeSettings, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.settings = settings
        self.now = now
    }

    var count: Int { episodes.count }

    func open(pack: String, task: TaskSpec, maxTurns: Int) -> Episode {
        expire()
        while episodes.count >= settings.capacity,
            let oldest = episodes.values.min(by: { $0.lastUsed < $1.lastUsed })
        {
            episodes[oldest.id] = nil
            evicted += 1
        }
        let episode = Episode(
            id: UUID().uuidString.lowercased(), pack: pack, task: task, maxTurns: maxTurns, lastUsed: now())
        episodes[episode.id] = episode
        return episode
    }

    /// The episode for a step; unknown, expired and finished episodes are errors.
    func begin(_ id: String) throws -> Episode {
        if let e = episodes[id], e.lastUsed < now() - settings.ttl { episodes[id] = nil }
        guard var episode = episodes[id] else {
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
        episodes[id] = episode
        return episode
    }

    func save(_ episode: Episode) {
        var e = episode
        e.busy = false
        e.lastUsed = now()
        episodes[e.id] = e
    }

    private func expire() {
        let cutoff = now() - settings.ttl
        episodes = episodes.filter { $0.value.lastUsed >= cutoff }
    }
}
