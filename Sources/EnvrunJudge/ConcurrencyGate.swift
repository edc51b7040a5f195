import Synchronization

/// At most `limit` holders at once; the rest wait in FIFO order, each for at most its timeout, and a waiter
/// whose task is cancelled leaves the queue at once.
public final class ConcurrencyGate: Sendable {
    struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }
    struct Values {
        var inUse = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Waiters that gave up before they were queued (a timeout or cancellation that raced the queueing).
        var gaveUp: Set<UInt64> = []
    }

    public let limit: Int
    let values = Mutex(Values())

    public init(limit: Int) { self.limit = max(1, limit) }

    public var inUse: Int { values.withLock { $0.inUse } }
    public var waiting: Int { values.withLock { $0.waiters.count } }

    /// Takes a slot; false when `timeout` passed or the task was cancelled first (no slot is then held).
    public func acquire(timeout: Duration) async -> Bool {
        let id: UInt64? = values.withLock { v in
            if v.inUse < limit {
                v.inUse += 1
                return nil
            }
            v.nextID += 1
            return v.nextID
        }
        guard let id else { return true }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.giveUp(id)
        }
        defer {
            timer.cancel()
            _ = values.withLock { $0.gaveUp.remove(id) }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool? = values.withLock { v in
                    // A slot may have been freed between the check above and here.
                    if v.gaveUp.remove(id) != nil { return false }
                    if v.inUse < limit {
                        v.inUse += 1
                        return true
                    }
                    v.waiters.append(Waiter(id: id, continuation: c))
                    return nil
                }
                if let resumeNow { c.resume(returning: resumeNow) }
            }
        } onCancel: {
            self.giveUp(id)
        }
    }

    public func release() {
        let next: Waiter? = values.withLock { v in
            if v.waiters.isEmpty {
                v.inUse -= 1
                return nil
            }
            return v.waiters.removeFirst()  // the slot passes straight to the next waiter
        }
        next?.continuation.resume(returning: true)
    }

    func giveUp(_ id: UInt64) {
        let waiter: Waiter? = values.withLock { v in
            guard let i = v.waiters.firstIndex(where: { $0.id == id }) else {
                v.gaveUp.insert(id)
                return nil
            }
            return v.waiters.remove(at: i)
        }
        waiter?.continuation.resume(returning: false)
    }
}
