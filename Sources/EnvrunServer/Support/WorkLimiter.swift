import Synchronization

/// Bounded concurrency for the routes that do work. Up to `slots` requests run at once and up to
/// `queueLimit` more wait their turn; beyond that `acquire` fails at once so the route answers 429 with
/// Retry-After instead of letting requests pile up until they time out.
public final class WorkLimiter: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var inFlight: Int
        public var queued: Int
        public var slots: Int
    }

    private struct State {
        var inFlight = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID: UInt64 = 0
    }

    public let slots: Int
    public let queueLimit: Int
    private let state = Mutex(State())
    private let onChange: @Sendable (Snapshot) -> Void

    public init(slots: Int, queueLimit: Int, onChange: @escaping @Sendable (Snapshot) -> Void = { _ in }) {
        precondition(slots > 0, "WorkLimiter needs at least one slot")
        self.slots = slots
        self.queueLimit = max(0, queueLimit)
        self.onChange = onChange
    }

    public var snapshot: Snapshot {
        state.withLock { Snapshot(inFlight: $0.inFlight, queued: $0.waiters.count, slots: slots) }
    }

    /// Every slot and queue place is taken: an `acquire` now would be refused.
    public var isFull: Bool {
        state.withLock { $0.inFlight >= slots && $0.waiters.count >= queueLimit }
    }

    /// Runs `body` in a slot, or returns nil at once when every slot and queue place is taken.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T? {
        guard await acquire() else { return nil }
        defer { release() }
        return try await body()
    }

    /// True when a slot was obtained (the caller must `release()`); false when saturated or cancelled.
    public func acquire() async -> Bool {
        enum Decision { case granted, rejected, wait(UInt64) }
        let decision: Decision = state.withLock { s in
            if s.inFlight < slots {
                s.inFlight += 1
                return .granted
            }
            if s.waiters.count >= queueLimit { return .rejected }
            s.nextID += 1
            return .wait(s.nextID)
        }
        switch decision {
        case .granted:
            onChange(snapshot)
            return true
        case .rejected:
            return false
        case .wait(let id):
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let resumeNow: Bool? = state.withLock { s in
                        if Task.isCancelled { return false }
                        // A slot may have been freed between the decision and here.
                        if s.inFlight < slots {
                            s.inFlight += 1
                            return true
                        }
                        s.waiters.append((id, continuation))
                        return nil
                    }
                    if let resumeNow { continuation.resume(returning: resumeNow) }
                    onChange(snapshot)
                }
            } onCancel: {
                let cancelled = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                    guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.waiters.remove(at: index).continuation
                }
                cancelled?.resume(returning: false)
            }
        }
    }

    /// Frees a slot, handing it straight to the oldest waiter if there is one.
    public func release() {
        let next = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            if !s.waiters.isEmpty {
                return s.waiters.removeFirst().continuation  // the slot passes on; inFlight is unchanged
            }
            s.inFlight -= 1
            return nil
        }
        next?.resume(returning: true)
        onChange(snapshot)
    }
}
