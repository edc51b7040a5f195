import EnvrunCore
import Foundation
import Testing

@testable import EnvrunTasks

/// The episode store's per-client quota, global cap, expiry and their cost.
@Suite("episode quotas")
struct EpisodeQuotaTests {
    let task = TaskSpec(id: "t", prompt: "p", tests: "assert True")
    let a = ClientKey("10.0.0.1")
    let b = ClientKey("10.0.0.2")

    @Test("a client opening 10× its quota evicts only its own episodes, never another client's")
    func oneClientDoesNotEvictAnother() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.pack("sums", yaml: manifest(name: "sums", reward: "  verifier: math"),
                     tasks: [#"{"id":"s1","prompt":"1+1","answer":"2"}"#])
        let env = PackEnvironment(
            packs: try PackLibrary.load(directory: dir.url),
            episodes: EpisodeSettings(capacity: 50, perClient: 5, ttl: .seconds(3600)))
        let theirs = try await env.reset(pack: "sums", taskID: "s1", client: b)
        var mine: [String] = []
        for _ in 0..<50 { mine.append(try await env.reset(pack: "sums", taskID: "s1", client: a).episodeID) }

        // B's episode, the least recently used of all, is still there and takes its step.
        let step = try await env.step(episodeID: theirs.episodeID, action: "2")
        #expect(step.turn == 1 && step.reward?.reward == 1)
        // A kept its 5 newest; its older ones are gone.
        let counts = await env.episodeCounts()
        #expect(counts.open == 6 && counts.clients == 2)
        #expect(counts.evictedByClientQuota == 45 && counts.evictedByCapacity == 0)
        await #expect(throws: EnvrunError.self) { try await env.step(episodeID: mine[44], action: "2") }
        _ = try await env.step(episodeID: mine[45], action: "2")
    }

    @Test("the global cap is a backstop: full, the least recently used of all goes")
    func globalCapEvictsGloballyLRU() async throws {
        let clock = TestClock()
        let store = EpisodeStore(settings: EpisodeSettings(capacity: 4, perClient: 3), now: { clock.now() })
        var ids: [String] = []
        for client in [a, b, ClientKey("c")] {
            for _ in 0..<2 {
                clock.advance(.seconds(1))
                ids.append(await store.open(client: client, pack: "p", task: task, maxTurns: 2).id)
            }
        }
        // 6 opened into 4 places: the two oldest (both of A) were evicted; touching B's first keeps it.
        #expect(await store.count == 4)
        await #expect(throws: EnvrunError.self) { try await store.begin(ids[0]) }
        await #expect(throws: EnvrunError.self) { try await store.begin(ids[1]) }
        let touched = try await store.begin(ids[2])
        await store.save(touched)
        _ = await store.open(client: a, pack: "p", task: task, maxTurns: 2)
        // Now B's second (ids[3]) was the coldest.
        await #expect(throws: EnvrunError.self) { try await store.begin(ids[3]) }
        _ = try await store.begin(ids[2])
        let counts = await store.counts()
        #expect(counts.evictedByCapacity == 3 && counts.evictedByClientQuota == 0 && counts.expired == 0)
    }

    @Test("unused episodes expire after the TTL, counted, and a step keeps one alive")
    func expiry() async throws {
        let clock = TestClock()
        let store = EpisodeStore(settings: EpisodeSettings(capacity: 100, perClient: 100, ttl: .seconds(60)),
                                 now: { clock.now() })
        let old = await store.open(client: a, pack: "p", task: task, maxTurns: 5)
        let kept = await store.open(client: b, pack: "p", task: task, maxTurns: 5)
        clock.advance(.seconds(40))
        await store.save(try await store.begin(kept.id))
        clock.advance(.seconds(30))  // old: 70 s unused; kept: 30 s
        await #expect(throws: EnvrunError.self) { try await store.begin(old.id) }
        _ = try await store.begin(kept.id)
        let counts = await store.counts()
        #expect(counts.expired == 1 && counts.open == 1 && counts.clients == 1)
    }

    @Test("a second step while one is being scored is refused; after it the episode steps again")
    func concurrentStepRefused() async throws {
        let store = EpisodeStore(settings: EpisodeSettings())
        let e = await store.open(client: a, pack: "p", task: task, maxTurns: 5)
        var busy = try await store.begin(e.id)
        do {
            _ = try await store.begin(e.id)
            Issue.record("a concurrent step must be refused")
        } catch let error as EnvrunError {
            #expect(error.code == .invalidInput && error.field == "episode_id")
            #expect(error.message.contains("already taking a step"))
        }
        busy.turn = 1
        await store.save(busy)
        #expect(try await store.begin(e.id).turn == 1)
    }

    @Test("an episode evicted while its step is scored is not brought back by the save")
    func saveDoesNotResurrect() async throws {
        let store = EpisodeStore(settings: EpisodeSettings(capacity: 3, perClient: 3))
        let e = await store.open(client: a, pack: "p", task: task, maxTurns: 5)
        let busy = try await store.begin(e.id)
        for _ in 0..<3 { _ = await store.open(client: b, pack: "p", task: task, maxTurns: 5) }
        await store.save(busy)
        #expect(await store.count == 3)
        await #expect(throws: EnvrunError.self) { try await store.begin(e.id) }
    }

    /// 50,000 opens by 50 clients into a full store. The old store scanned every episode on each open
    /// (min over all, then a filtering copy for expiry): ~10^9 steps here. Checked by exact counts; the
    /// time bound is only a sanity guard, orders of magnitude above what the O(1) store needs.
    @Test("50,000 opens into a full store: exact eviction and expiry counts, no whole-store scans")
    func manyOpensStayCheap() async throws {
        let clock = TestClock()
        let store = EpisodeStore(settings: EpisodeSettings(capacity: 10_000, perClient: 400, ttl: .seconds(3600)),
                                 now: { clock.now() })
        let clients = (0..<50).map { ClientKey("client-\($0)") }
        let start = ContinuousClock.now
        for i in 0..<50_000 {
            _ = await store.open(client: clients[i % 50], pack: "p", task: task, maxTurns: 1)
        }
        var counts = await store.counts()
        // Each client holds its 400 newest: 50 × 400 = 20,000 > 10,000, so the cap binds first: the store
        // fills at 10,000 (200 per client), and from then on each open evicts the oldest of all.
        #expect(counts.open == 10_000 && counts.clients == 50)
        #expect(counts.evictedByCapacity == 40_000 && counts.evictedByClientQuota == 0)
        clock.advance(.seconds(3601))
        _ = await store.open(client: clients[0], pack: "p", task: task, maxTurns: 1)
        counts = await store.counts()
        #expect(counts.expired == 10_000 && counts.open == 1)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(30), "50,001 opens took \(elapsed)")
    }
}

/// The two recency lists of `EpisodeTable` against a plain array model, over random operations.
@Suite("episode table")
struct EpisodeTableTests {
    @Test(arguments: [1, 2, 3])
    func matchesAModel(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = EpisodeTable()
        var model: [Episode] = []  // least recently used first
        let clients = (0..<4).map { ClientKey("c\($0)") }
        let task = TaskSpec(id: "t", prompt: "p")
        var next = 0
        for _ in 0..<3_000 {
            let op = rng.next() % 4
            if op == 0 || model.isEmpty {
                let e = Episode(id: "e\(next)", client: clients[Int(rng.next() % 4)], pack: "p", task: task,
                                maxTurns: 1, lastUsed: .now)
                next += 1
                table.insert(e)
                model.append(e)
            } else if op == 1 {
                let i = Int(rng.next() % UInt64(model.count))
                var e = model.remove(at: i)
                e.turn += 1
                let updated = table.update(e)
                #expect(updated)
                model.append(e)
            } else if op == 2 {
                let i = Int(rng.next() % UInt64(model.count))
                let removed = table.remove(model[i].id)
                #expect(removed?.id == model[i].id)
                model.remove(at: i)
            } else {
                let missing = table.remove("missing")
                #expect(missing == nil)
            }
            #expect(table.count == model.count)
            #expect(table.coldest?.id == model.first?.id)
            for c in clients {
                let own = model.filter { $0.client == c }
                #expect(table.count(of: c) == own.count)
                #expect(table.coldest(of: c)?.id == own.first?.id)
            }
            #expect(table.clientCount == Set(model.map(\.client)).count)
        }
        for e in model { #expect(table.episode(e.id)?.turn == e.turn) }
    }
}
