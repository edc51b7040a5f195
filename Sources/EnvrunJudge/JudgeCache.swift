/// Results by everything that decides them: judge model, template version, query, responses, sampling
/// settings (seed included) and the meta RM. A repeated request costs a dictionary lookup. Only `ok` results
/// are kept (a judge that failed is asked again next time). Bounded: least recently used entries go first.
public actor JudgeCache {
    public struct Key: Hashable, Sendable {
        var judge: String
        /// The whole template, not only its name@version: two packs may ship different texts under one id.
        var template: JudgeTemplate
        var query: String
        var responses: [String]
        var settings: GRMSettings
        var metaRM: String?
    }

    public let capacity: Int
    var entries: [Key: (result: GRMResult, used: UInt64)] = [:]
    var clock: UInt64 = 0
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    public var count: Int { entries.count }

    func get(_ key: Key) -> GRMResult? {
        clock += 1
        guard let e = entries[key] else {
            misses += 1
            return nil
        }
        hits += 1
        entries[key] = (e.result, clock)
        return e.result
    }

    func put(_ key: Key, _ result: GRMResult) {
        guard result.status == .ok else { return }
        clock += 1
        entries[key] = (result, clock)
        if entries.count > capacity {
            // Drop the older half at once: amortised O(1) per insert, no per-entry list to maintain.
            let cut = entries.values.map(\.used).sorted()[entries.count / 2]
            entries = entries.filter { $0.value.used > cut }
        }
    }
}
