import EnvrunCore
import Foundation

/// Open Reward Standard sessions: made by `/create_session`, bound to a task by `/create`, used by
/// `/prompt` and `/call`, ended by `/delete_session` or reaped after `session_idle_seconds` without use.
/// Each takes a slot of the server's `max_sessions` (shared with OpenEnv's WebSockets).
actor ORSSessionStore {
    struct Session: Sendable {
        var env: String?
        var episode: PackEpisode?
        var lastUsed: ContinuousClock.Instant
        /// A `/call` is running; a second one at the same time is refused.
        var busy = false
        /// Finished calls by their stream id, for a client that reconnects (kept 60 s).
        var replies: [String: (at: ContinuousClock.Instant, json: String)] = [:]
    }

    /// The session is gone (deleted, reaped or never made): 410, which the client reads as "terminated".
    struct Gone: Error {}
    struct Full: Error {}

    private let slots: SessionSlots
    private let idle: Duration
    private var sessions: [String: Session] = [:]
    static let replayWindow = Duration.seconds(60)

    init(slots: SessionSlots, idle: Duration) {
        self.slots = slots
        self.idle = idle
    }

    func create() throws -> String {
        reap()
        guard slots.acquire() else { throw Full() }
        let id = UUID().uuidString
        sessions[id] = Session(lastUsed: .now)
        return id
    }

    /// The session, touched; `Gone` when there is none.
    func get(_ id: String) throws -> Session {
        reap()
        guard var s = sessions[id] else { throw Gone() }
        s.lastUsed = .now
        sessions[id] = s
        return s
    }

    func bind(_ id: String, env: String, episode: PackEpisode) throws {
        guard sessions[id] != nil else { throw Gone() }
        sessions[id]?.env = env
        sessions[id]?.episode = episode
        sessions[id]?.lastUsed = .now
    }

    /// Marks the session busy for a call; false when another call holds it.
    func begin(_ id: String) throws -> Session? {
        guard var s = sessions[id] else { throw Gone() }
        if s.busy { return nil }
        s.busy = true
        s.lastUsed = .now
        sessions[id] = s
        return s
    }

    /// Ends a call: stores the episode as it is now and the reply for a reconnecting client.
    func end(_ id: String, episode: PackEpisode?, callID: String, reply: String) {
        guard var s = sessions[id] else { return }
        s.busy = false
        if let episode { s.episode = episode }
        s.lastUsed = .now
        let now = ContinuousClock.now
        s.replies = s.replies.filter { now - $0.value.at < Self.replayWindow }
        s.replies[callID] = (now, reply)
        sessions[id] = s
    }

    func replay(_ id: String, callID: String) -> String? { sessions[id]?.replies[callID]?.json }

    /// `/delete`: the session forgets its task (a later `/create` may bind another).
    func unbind(_ id: String) -> Bool {
        guard sessions[id] != nil else { return false }
        sessions[id]?.episode = nil
        return true
    }

    /// `/delete_session`: the session and its slot are gone.
    func remove(_ id: String) -> Bool {
        guard sessions.removeValue(forKey: id) != nil else { return false }
        slots.release()
        return true
    }

    var count: Int { sessions.count }

    private func reap() {
        let now = ContinuousClock.now
        for (id, s) in sessions where !s.busy && now - s.lastUsed >= idle {
            sessions[id] = nil
            slots.release()
        }
    }
}
