import Synchronization

/// Bytes of request bodies held in memory at once, across all requests. A body is reserved chunk by
/// chunk as it arrives and released when its request is answered; a request that would go over the
/// budget is answered 429 at once, before more of it is read, so many clients sending large bodies
/// cost at most the budget, not clients × the body limit.
final class BodyBudget: Sendable {
    let limit: Int
    private let used = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Takes `bytes` from the budget; false (nothing taken) when that would exceed it.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 -= bytes }
    }
}
