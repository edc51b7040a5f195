import EnvrunCore
import EnvrunTasks
import EnvrunTesting
import Foundation
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import EnvrunServer

/// What a protocol session holds and when it lets go: one episode (closed on reset, rebind and end), under
/// a key of its own (the host's other episodes cannot evict it), a bounded reply cache, and idle sessions
/// reaped on a timer.
@Suite("protocol sessions: episodes, replies, reaping")
struct ProtocolSessionLifecycleTests {
    static func episode(_ env: RecordingEnvironment, _ task: String) async throws -> PackEpisode {
        try await PackEpisode.open(env, pack: "fake-math", taskID: task, client: .shared)
    }

    @Test("an ORS session closes the episode it rebinds away from, deletes, or ends with; a /create during a call stands")
    func orsEpisodesClosed() async throws {
        let env = RecordingEnvironment()
        let store = ORSSessionStore(slots: SessionSlots(capacity: 4), idle: .seconds(600), environment: env)
        let sid = try await store.create()
        let a = try await Self.episode(env, "1")
        try await store.bind(sid, env: "fake-math", episode: a)
        // A call starts on episode a; meanwhile a /create binds b; the call's end must not put a back.
        let running = try #require(try await store.begin(sid))
        let b = try await Self.episode(env, "2")
        try await store.bind(sid, env: "fake-math", episode: b)
        #expect(env.closed == [a.episodeID])
        await store.end(sid, episode: running.episode, callID: "c1", reply: "{}")
        #expect(try await store.get(sid).episode?.episodeID == b.episodeID, "the call's end undid the /create")
        #expect(await store.unbind(sid))
        #expect(env.closed == [a.episodeID, b.episodeID])
        let c = try await Self.episode(env, "3")
        try await store.bind(sid, env: "fake-math", episode: c)
        #expect(await store.remove(sid))
        #expect(env.closed == [a.episodeID, b.episodeID, c.episodeID])
        #expect(await store.count == 0)
    }

    @Test("stored replies: one per session, and the oldest dropped past the global budget")
    func replyCacheBounded() async throws {
        let env = RecordingEnvironment()
        let store = ORSSessionStore(slots: SessionSlots(capacity: 8), idle: .seconds(600), environment: env,
                                    replyBudget: 1000)
        let reply = String(repeating: "x", count: 400)
        let first = try await store.create()
        for call in 0..<50 { await store.end(first, episode: nil, callID: "call\(call)", reply: reply) }
        #expect(await store.storedReplyBytes == 400, "a session kept more than its last reply")
        #expect(await store.replay(first, callID: "call49") == reply)
        #expect(await store.replay(first, callID: "call48") == nil)
        var sids = [first]
        for _ in 0..<3 {
            let sid = try await store.create()
            await store.end(sid, episode: nil, callID: "last", reply: reply)
            sids.append(sid)
        }
        #expect(await store.storedReplyBytes <= 1000)
        #expect(await store.replay(first, callID: "call49") == nil, "the oldest reply was kept past the budget")
        #expect(await store.replay(sids[3], callID: "last") == reply, "the newest reply was dropped")
        _ = await store.remove(sids[3])
        #expect(await store.storedReplyBytes <= 400)
    }

    @Test("idle ORS sessions are reaped on the timer: slots and episodes come back without ORS traffic")
    func reaperFreesSlots() async throws {
        let env = RecordingEnvironment()
        let slots = SessionSlots(capacity: 2)
        let store = ORSSessionStore(slots: slots, idle: .milliseconds(200), environment: env)
        let sid = try await store.create()
        let a = try await Self.episode(env, "1")
        try await store.bind(sid, env: "fake-math", episode: a)
        _ = try await store.create()
        #expect(slots.inUse == 2)
        let reaper = SessionReaper(store: store, every: .milliseconds(50))
        let group = ServiceGroup(configuration: .init(services: [reaper], logger: Logger(label: "reaper.test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Bounded wait: up to 5 s for the reaper to run past the idle time.
            for _ in 0..<100 where slots.inUse > 0 { try await Task.sleep(for: .milliseconds(50)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(slots.inUse == 0, "idle sessions still hold their slots")
        #expect(env.closed == [a.episodeID])
        await #expect(throws: ORSSessionStore.Gone.self) { try await store.get(sid) }
    }

    @Test("a WebSocket session's episode survives its host opening many /v1/episodes; reset and close release it")
    func webSocketEpisodeOwnKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-wskey-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try EpisodeQuotaRouteTests.writeSumsPack(into: dir)
        let env = PackEnvironment(
            packs: try PackLibrary.load(directory: dir),
            episodes: EpisodeSettings(capacity: 100, perClient: 3, ttl: .seconds(3600)))
        try await withLiveApp(environment: env, { _ in }) { port in
            let socket = try #require(RawWebSocket(port: port, path: "/openenv/sums/ws"))
            for _ in 0..<2 {
                socket.send(text: #"{"type":"reset","data":{"task_id":"s1"}}"#)
                let reset = try await nextText(socket, after: "reset")
                #expect(reset.contains("\"observation\""), "\(reset.prefix(300))")
            }
            #expect(await env.episodeCounts().open == 1, "the episode reset away from was not closed")
            // The same host (127.0.0.1) opens 10 episodes over HTTP, over 3× its quota of 3.
            for _ in 0..<10 {
                let c = try #require(RawConnection(port: port))
                c.send(RawConnection.request("POST", "/v1/episodes", body: #"{"pack":"sums","task_id":"s1"}"#))
                #expect(await offPool { c.response(timeout: 5).status } == 201)
            }
            socket.send(text: #"{"type":"step","data":{"response":"2"}}"#)
            let step = try await nextText(socket, after: "step")
            #expect(step.contains("\"reward\":1"), "the session's episode was evicted: \(step.prefix(300))")
            #expect(await env.episodeCounts().open == 4)
            socket.send(text: #"{"type":"close"}"#)
            for _ in 0..<50 where await env.episodeCounts().open > 3 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(await env.episodeCounts().open == 3, "the session's episode outlived its socket")
        }
    }
}
