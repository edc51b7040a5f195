import EnvrunCore
import Foundation

/// Sentence embeddings keyed by a 64-bit FNV-1a hash of (encoder id, truncation side, text), so training epochs
/// and evaluation never re-encode a text. Thread-safe; can be saved to and loaded from a flat binary file.
/// Bounded: when `capacity` entries are reached the table is emptied (a server scoring a stream of new
/// responses must not grow without limit; 100 000 entries of 384 floats are about 150 MB).
public final class EmbeddingCache: @unchecked Sendable {
    public let dimension: Int
    public let capacity: Int
    private var table: [UInt64: [Float]] = [:]
    private let lock = NSLock()

    public init(dimension: Int, capacity: Int = 100_000) {
        self.dimension = dimension
        self.capacity = max(1, capacity)
    }

    public var count: Int { lock.withLock { table.count } }

    public static func key(_ text: String, namespace: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in namespace.utf8 {
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
        }
        h = (h ^ 0xff) &* 0x100_0000_01b3
        for b in text.utf8 {
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
        }
        return h
    }

    public func get(_ key: UInt64) -> [Float]? { lock.withLock { table[key] } }

    public func put(_ key: UInt64, _ value: [Float]) {
        precondition(value.count == dimension)
        lock.withLock {
            if table.count >= capacity && table[key] == nil { table.removeAll(keepingCapacity: true) }
            table[key] = value
        }
    }

    /// Embeds the texts not yet cached (in batches), then returns all of them in order.
    public func embeddings(
        _ texts: [String], encoder: MiniLMEncoder, truncation: WordPieceTokenizer.TruncationSide,
        batchSize: Int = 32, progress: ((Int, Int) -> Void)? = nil
    ) -> [[Float]] {
        let ns = "minilm/\(encoder.maxLength)/\(truncation.rawValue)"
        let keys = texts.map { Self.key($0, namespace: ns) }
        var missing: [Int] = []
        var seen = Set<UInt64>()
        for (i, k) in keys.enumerated() where get(k) == nil && seen.insert(k).inserted { missing.append(i) }
        var done = 0
        var start = 0
        while start < missing.count {
            let end = min(missing.count, start + batchSize)
            let idx = Array(missing[start..<end])
            let vecs = encoder.embed(idx.map { texts[$0] }, truncation: truncation, batchSize: batchSize)
            for (j, i) in idx.enumerated() { put(keys[i], vecs[j]) }
            done += idx.count
            progress?(done, missing.count)
            start = end
        }
        // Look-ups after a capacity flush fall back to encoding again.
        return keys.enumerated().map { i, k in
            get(k) ?? encoder.embed([texts[i]], truncation: truncation, batchSize: 1)[0]
        }
    }

    // File format: "ERMC" magic, UInt32 dimension, then records of (UInt64 key, dimension × Float32), little-endian.
    public func save(to path: String) throws {
        var data = Data("ERMC".utf8)
        var dim = UInt32(dimension).littleEndian
        withUnsafeBytes(of: &dim) { data.append(contentsOf: $0) }
        lock.withLock {
            for (k, v) in table {
                var key = k.littleEndian
                withUnsafeBytes(of: &key) { data.append(contentsOf: $0) }
                v.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        do { try data.write(to: url, options: .atomic) } catch {
            throw EnvrunError(.io, "cannot write embedding cache: \(error.localizedDescription)", field: path)
        }
    }

    /// Loads entries from `path` if it exists and matches the dimension; a damaged file is ignored (a cache).
    @discardableResult
    public func load(from path: String) -> Int {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)), data.count >= 8,
            data.prefix(4) == Data("ERMC".utf8)
        else { return 0 }
        let bytes = [UInt8](data)
        let dim = Int(UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
        guard dim == dimension else { return 0 }
        let record = 8 + 4 * dim
        guard (bytes.count - 8) % record == 0 else { return 0 }
        var loaded = 0
        bytes.withUnsafeBytes { raw in
            var off = 8
            while off + record <= raw.count {
                let key = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: off, as: UInt64.self))
                var v = [Float](repeating: 0, count: dim)
                v.withUnsafeMutableBytes { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(off + 8)..<(off + record)]))
                }
                put(key, v)
                loaded += 1
                off += record
            }
        }
        return loaded
    }
}
