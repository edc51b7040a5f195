/// Results by everything that decides them: judge model, template version, query, responses, sampling
/// settings (seed included) and the meta RM. A repeated request costs a dictionary lookup. Only `ok` results
/// are kept (a judge that failed is asked again next time). Bounded by entries and by bytes (the texts of
/// keys and samples): least recently used entries go first.
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
    public let maxBytes: Int
    var entries: [Key: (result: GRMResult, used: UInt64, bytes: Int)] = [:]
    public private(set) var bytes = 0
    var clock: UInt64 = 0
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(capacity: Int = 4096, maxBytes: Int = 256 * 1024 * 1024) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(1, maxBytes)
    }

    /// What an entry holds, roughly: its texts.
    static func size(_ key: Key, _ result: GRMResult) -> Int {
        key.query.utf8.count + key.responses.reduce(0) { $0 + $1.utf8.count }
            + result.samples.reduce(0) { $0 + $1.text.utf8.count + ($1.principles?.utf8.count ?? 0) + 256 } + 512
    }

    public var count: Int { entries.count }

    func get(_ key: Key) -> GRMResult? {
        clock += 1
        guard let e = entries[key] else {
            misses += 1
            return nil
        }
        hits += 1
        entries[key] = (e.result, clock, e.bytes)
        return e.result
    }

    func put(_ key: Key, _ result: GRMResult) {
        guard result.status == .ok else { return }
        clock += 1
        let size = Self.size(key, result)
        guard size <= maxBytes / 2 else { return }  // one entry may not take the cache over
        bytes += size - (entries[key]?.bytes ?? 0)
        entries[key] = (result, clock, size)
        if entries.count > capacity || bytes > maxBytes {
            // Drop the older half at once: amortised O(1) per insert, no per-entry list to maintain.
            let cut = entries.values.map(\.used).sorted()[entries.count / 2]
            entries = entries.filter { $0.value.used > cut }
            bytes = entries.values.reduce(0) { $0 + $1.bytes }
        }
    }
}
