import Synchronization

/// The bound on protocol sessions open at once (OpenEnv WebSockets and Open Reward Standard sessions
/// together, `max_sessions`): a session takes a slot when it opens and gives it back when it closes or is
/// reaped. Past the bound a new session is refused at once (CAPACITY_REACHED, 429), never queued.
final class SessionSlots: Sendable {
    let capacity: Int
    private let open = Mutex(0)

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Takes a slot, or returns false when all are taken.
    func acquire() -> Bool {
        open.withLock { n in
            guard n < capacity else { return false }
            n += 1
            return true
        }
    }

    func release() { open.withLock { $0 = max(0, $0 - 1) } }

    var inUse: Int { open.withLock { $0 } }
}
