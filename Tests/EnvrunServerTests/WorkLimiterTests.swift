@testable import EnvrunServer
import Testing

@Suite("WorkLimiter")
struct WorkLimiterTests {
    @Test("grants up to its slots, queues up to its queue limit, rejects beyond")
    func limits() async throws {
        let limiter = WorkLimiter(slots: 2, queueLimit: 1)
        #expect(await limiter.acquire())
        #expect(await limiter.acquire())
        let waiter = Task { await limiter.acquire() }
        #expect(try await eventually { limiter.snapshot.queued == 1 })
        #expect(await limiter.acquire() == false)  // 2 running + 1 waiting: full
        limiter.release()  // hands the slot to the waiter
        #expect(await waiter.value)
        #expect(limiter.snapshot == .init(inFlight: 2, queued: 0, slots: 2))
        limiter.release()
        limiter.release()
        #expect(limiter.snapshot.inFlight == 0)
    }

    @Test("a cancelled waiter leaves the queue without taking a slot")
    func cancellation() async throws {
        let limiter = WorkLimiter(slots: 1, queueLimit: 4)
        #expect(await limiter.acquire())
        let waiter = Task { await limiter.acquire() }
        #expect(try await eventually { limiter.snapshot.queued == 1 })
        waiter.cancel()
        #expect(await waiter.value == false)
        #expect(limiter.snapshot == .init(inFlight: 1, queued: 0, slots: 1))
        limiter.release()
        #expect(limiter.snapshot.inFlight == 0)
    }

    @Test("run() returns nil when saturated and frees its slot after the body")
    func run() async throws {
        let limiter = WorkLimiter(slots: 1, queueLimit: 0)
        #expect(try await limiter.run { 7 } == 7)
        #expect(await limiter.acquire())
        #expect(try await limiter.run { 7 } == nil)
        limiter.release()
    }
}
