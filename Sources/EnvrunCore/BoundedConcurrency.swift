/// How much of one request may run at once. The server sets it per request (its `item_concurrency`);
/// every batch loop below it — the batch scorer, a rewarder's default batch path — reads it, so one
/// large batch cannot fan out into a thousand tasks that shut every other request out.
public enum ScoringContext {
    @TaskLocal public static var itemConcurrency: Int = 8
    /// Told how long each item of a batch took to score (the server's latency histogram).
    @TaskLocal public static var observer: ScoringObserver?
}

/// Receives each scored item's result and duration (a class: a task-local of a function type crashed
/// the Swift 6.3 runtime in release builds).
public final class ScoringObserver: Sendable {
    let body: @Sendable (RewardResult, Duration) -> Void
    public init(_ body: @escaping @Sendable (RewardResult, Duration) -> Void) { self.body = body }
    public func observe(_ result: RewardResult, _ duration: Duration) { body(result, duration) }
}

/// Maps `items` with at most `limit` bodies running at once, results in input order. Once the task is
/// cancelled (the client left), items not yet started are not started: they get `cancelled(item)`.
public func boundedMap<T: Sendable, R: Sendable>(
    _ items: [T], limit: Int = ScoringContext.itemConcurrency,
    cancelled: @escaping @Sendable (T) -> R,
    _ body: @escaping @Sendable (T) async -> R
) async -> [R] {
    let limit = max(1, limit)
    if items.count <= 1 || limit == 1 {
        var out: [R] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(Task.isCancelled ? cancelled(item) : await body(item)) }
        return out
    }
    return await withTaskGroup(of: (Int, R).self) { group in
        var results = [R?](repeating: nil, count: items.count)
        var next = 0
        func start(_ index: Int) {
            let item = items[index]
            group.addTask { (index, Task.isCancelled ? cancelled(item) : await body(item)) }
        }
        while next < min(limit, items.count) {
            start(next)
            next += 1
        }
        while let (index, result) = await group.next() {
            results[index] = result
            if next < items.count {
                start(next)
                next += 1
            }
        }
        return results.map { $0! }
    }
}
