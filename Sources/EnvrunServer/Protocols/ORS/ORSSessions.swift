import EnvrunCore
import Foundation
import ServiceLifecycle

/// Open Reward Standard sessions: made by `/create_session`, bound to a task by `/create`, used by
/// `/prompt` and `/call`, ended by `/delete_session` or reaped after `session_idle_seconds` without use
/// (by `SessionReaper` on a timer, and before every create). Each takes a slot of the server's
/// `max_sessions` (shared with OpenEnv's WebSockets) and holds at most one open episode: binding another
/// task, `/delete`, and the session's end close it.
actor ORSSessionStore {
    struct Session: Sendable {
        var env: String?
        var episode: PackEpisode?
        var lastUsed: ContinuousClock.Instant
        /// A `/call` is running; a second one at the same time is refused.
        var busy = false
        /// The last finished call, for a client that reconnects to its stream (kept `replayWindow`). Calls on
        /// a session run one at a time, so the last is the only one a client can be waiting for.
        var reply: Reply?
    }

    struct Reply: Sendable {
        let callID: String
        let at: ContinuousClock.Instant
        let json: String
    }

    /// The session is gone (deleted, reaped or never made): 410, which the client reads as "terminated".
    struct Gone: Error {}
    struct Full: Error {}

    private let slots: SessionSlots
    private let idle: Duration
    private let environment: any EnvrunCore.Environment
    private var sessions: [String: Session] = [:]
    /// Bytes of stored replies across sessions; past `replyBudget` the oldest are dropped.
    private var replyBytes = 0
    let replyBudget: Int
    static let replayWindow = Duration.seconds(60)

    init(slots: SessionSlots, idle: Duration, environment: any EnvrunCore.Environment,
         replyBudget: Int = 64 * 1024 * 1024) {
        self.slots = slots
        self.idle = idle
        self.environment = environment
        self.replyBudget = replyBudget
    }

    /// The key a session's episodes are opened under: its own, so that its one episode neither counts
    /// against nor is evicted by the quota of the host's other episodes (`/v1/episodes`).
    static func client(_ sid: String) -> ClientKey { ClientKey("ors:\(sid)") }

    func create() async throws -> String {
        await reap()
        guard slots.acquire() else { throw Full() }
        let id = UUID().uuidString
        sessions[id] = Session(lastUsed: .now)
        return id
    }

    /// The session, touched; `Gone` when there is none.
    func get(_ id: String) throws -> Session {
        guard var s = sessions[id], ContinuousClock.now - s.lastUsed < idle || s.busy else { throw Gone() }
        s.lastUsed = .now
        sessions[id] = s
        return s
    }

    /// Binds the session to a new episode; the one it had is closed.
    func bind(_ id: String, env: String, episode: PackEpisode) async throws {
        guard var s = sessions[id] else {
            await environment.close(episodeID: episode.episodeID)
            throw Gone()
        }
        let previous = s.episode
        s.env = env
        s.episode = episode
        s.lastUsed = .now
        sessions[id] = s
        if let previous { await environment.close(episodeID: previous.episodeID) }
    }

    /// Marks the session busy for a call; nil when another call holds it.
    func begin(_ id: String) throws -> Session? {
        guard var s = sessions[id] else { throw Gone() }
        if s.busy { return nil }
        s.busy = true
        s.lastUsed = .now
        sessions[id] = s
        return s
    }

    /// Ends a call: stores the episode as it is now (unless a `/create` or `/delete` meanwhile replaced it)
    /// and the reply for a reconnecting client.
    func end(_ id: String, episode: PackEpisode?, callID: String, reply: String) {
        guard var s = sessions[id] else { return }
        s.busy = false
        if let episode, s.episode?.episodeID == episode.episodeID { s.episode = episode }
        s.lastUsed = .now
        replyBytes -= s.reply?.json.utf8.count ?? 0
        s.reply = Reply(callID: callID, at: .now, json: reply)
        replyBytes += reply.utf8.count
        sessions[id] = s
        trimReplies()
    }

    func replay(_ id: String, callID: String) -> String? {
        guard let r = sessions[id]?.reply, r.callID == callID, ContinuousClock.now - r.at < Self.replayWindow
        else { return nil }
        return r.json
    }

    /// `/delete`: the session forgets its task and closes its episode (a later `/create` may bind another).
    func unbind(_ id: String) async -> Bool {
        guard let episode = sessions[id].map({ $0.episode }) else { return false }
        sessions[id]?.episode = nil
        if let episode { await environment.close(episodeID: episode.episodeID) }
        return true
    }

    /// `/delete_session`: the session, its episode and its slot are gone.
    func remove(_ id: String) async -> Bool {
        guard let s = sessions.removeValue(forKey: id) else { return false }
        await forget(s)
        return true
    }

    var count: Int { sessions.count }
    var storedReplyBytes: Int { replyBytes }

    /// Ends sessions idle for `session_idle_seconds` (a running call keeps its session).
    func reap() async {
        let now = ContinuousClock.now
        let stale = sessions.filter { !$0.value.busy && now - $0.value.lastUsed >= idle }
        for id in stale.keys { sessions[id] = nil }
        for s in stale.values { await forget(s) }
    }

    private func forget(_ s: Session) async {
        slots.release()
        replyBytes -= s.reply?.json.utf8.count ?? 0
        if let episode = s.episode { await environment.close(episodeID: episode.episodeID) }
    }

    /// Drops expired replies, then the oldest, until the stored ones fit `replyBudget`.
    private func trimReplies() {
        let now = ContinuousClock.now
        for (id, s) in sessions {
            if let r = s.reply, now - r.at >= Self.replayWindow {
                replyBytes -= r.json.utf8.count
                sessions[id]?.reply = nil
            }
        }
        guard replyBytes > replyBudget else { return }
        let oldest = sessions.compactMap { id, s in s.reply.map { (id, $0) } }.sorted { $0.1.at < $1.1.at }
        for (id, r) in oldest where replyBytes > replyBudget {
            replyBytes -= r.json.utf8.count
            sessions[id]?.reply = nil
        }
    }
}

/// Reaps idle protocol sessions on a timer, so that their slots and episodes come back without waiting
/// for the next request of the same protocol. A `Service` of the application; stops at shutdown.
struct SessionReaper: Service {
    let store: ORSSessionStore
    let every: Duration

    func run() async throws {
        // Shutdown cancels the sleep; a cancelled reaper ends quietly (a throw would fail the service group).
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                if Task.isCancelled { return }
                await store.reap()
            }
        }
    }
}
