import Synchronization

/// Opens after `threshold` consecutive failed calls; while open every call fails at once (a dead judge
/// answers `status: error` in microseconds instead of hanging a batch on timeouts); after `cooldown` one
/// trial call goes through: its success closes the breaker, its failure opens it again.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable { case closed, open, halfOpen = "half_open" }

    struct Values {
        var failures = 0
        var openedAt: ContinuousClock.Instant?
        var trialInFlight = false
    }

    let threshold: Int
    let cooldown: Duration
    let values = Mutex(Values())

    public init(threshold: Int, cooldown: Duration) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
    }

    public var state: State {
        values.withLock { v in
            guard let opened = v.openedAt else { return .closed }
            return ContinuousClock.now - opened >= cooldown ? .halfOpen : .open
        }
    }

    /// Whether a call may go out now; a half-open breaker lets exactly one trial through.
    public func permit() -> Bool {
        values.withLock { v in
            guard let opened = v.openedAt else { return true }
            guard ContinuousClock.now - opened >= cooldown, !v.trialInFlight else { return false }
            v.trialInFlight = true
            return true
        }
    }

    public func succeeded() {
        values.withLock { v in
            v.failures = 0
            v.openedAt = nil
            v.trialInFlight = false
        }
    }

    /// Records a failed call; returns true when this failure opened the breaker.
    @discardableResult
    public func failed() -> Bool {
        values.withLock { v in
            v.failures += 1
            let wasOpen = v.openedAt != nil
            if v.trialInFlight || v.failures >= threshold {
                v.openedAt = ContinuousClock.now
                v.trialInFlight = false
                return !wasOpen
            }
            return false
        }
    }

    /// A call that ended without a verdict on the judge (cancelled by its caller): a trial slot is freed.
    public func abandoned() {
        values.withLock { $0.trialInFlight = false }
    }
}
