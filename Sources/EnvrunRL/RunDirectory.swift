import EnvrunCore
import Foundation

/// A run's folder: `config.json`, `metrics.jsonl` (one line per step, verl-like names), `checkpoint/`
/// (the whole state: weights, optimizer, reference, RNG, data cursor) and `summary.json`.
public struct RunDirectory: Sendable {
    public let url: URL
    public init(_ url: URL) { self.url = url }

    public var configURL: URL { url.appendingPathComponent("config.json") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
    public var checkpointURL: URL { url.appendingPathComponent("checkpoint") }
    public var summaryURL: URL { url.appendingPathComponent("summary.json") }

    public func create() throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw EnvrunError(.io, "cannot create the run directory: \(error.localizedDescription)", field: url.path)
        }
    }

    public func writeConfig(_ c: TrainConfig) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(c).write(to: configURL, options: .atomic)
    }

    public func readConfig() throws -> TrainConfig {
        do { return try JSONDecoder().decode(TrainConfig.self, from: Data(contentsOf: configURL)) } catch {
            throw EnvrunError(.invalidInput, "cannot read \(configURL.path): \(error.localizedDescription)", field: "run")
        }
    }

    /// One metrics line: sorted keys, so identical values give identical bytes.
    public static func line(_ m: [String: Double]) -> String {
        let parts = m.keys.sorted().map { k -> String in
            let v = m[k]!
            let text = v.isFinite ? (v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)") : "null"
            return "\"\(k)\":\(text)"
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    public func appendMetrics(_ m: [String: Double]) throws {
        let data = Data((Self.line(m) + "\n").utf8)
        if !FileManager.default.fileExists(atPath: metricsURL.path) {
            try data.write(to: metricsURL)
            return
        }
        let h = try FileHandle(forWritingTo: metricsURL)
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: data)
    }

    /// Keeps the first `lines` lines (a resume drops what was logged after its checkpoint).
    public func truncateMetrics(toLines lines: Int) throws {
        guard let text = try? String(contentsOf: metricsURL, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n", omittingEmptySubsequences: true).prefix(lines)
        try Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8).write(to: metricsURL, options: .atomic)
    }

    /// Every metrics line, parsed.
    public func readMetrics() throws -> [[String: Double]] {
        let text = try String(contentsOf: metricsURL, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return [:] }
            return obj.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }
}

/// What a checkpoint holds besides the tensors.
struct CheckpointState: Codable {
    var phase: String
    var step: Int
    var warmupStep: Int
    var rngState: UInt64
    var cursor: Int
    var epoch: Int
    var metricLines: Int
    var elapsedSeconds: Double
    var lastEval: Double?
    var warmupAccuracy: Double?
    var policyVersion: Int
    var adam: Adam
    var parameterCount: Int
    var hasReference: Bool
}

extension Adam {
    enum CodingKeys: String, CodingKey {
        case learningRate, beta1, beta2, epsilon, weightDecay, maxGradNorm, step
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        beta1 = try c.decode(Double.self, forKey: .beta1)
        beta2 = try c.decode(Double.self, forKey: .beta2)
        epsilon = try c.decode(Double.self, forKey: .epsilon)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        maxGradNorm = try c.decodeIfPresent(Double.self, forKey: .maxGradNorm)
        step = try c.decode(Int.self, forKey: .step)
        m = []
        v = []
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(beta1, forKey: .beta1)
        try c.encode(beta2, forKey: .beta2)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encodeIfPresent(maxGradNorm, forKey: .maxGradNorm)
        try c.encode(step, forKey: .step)
    }
}

enum TensorFile {
    static func write(_ arrays: [[Double]], to url: URL) throws {
        var data = Data()
        for a in arrays { a.withUnsafeBytes { data.append(contentsOf: $0) } }
        try data.write(to: url, options: .atomic)
    }

    static func read(_ url: URL, counts: [Int]) throws -> [[Double]] {
        let data = try Data(contentsOf: url)
        guard data.count == counts.reduce(0, +) * 8 else {
            throw EnvrunError(.invalidInput, "\(url.path) is \(data.count) bytes; the checkpoint state expects \(counts.reduce(0, +) * 8)", field: "checkpoint")
        }
        var out: [[Double]] = []
        var offset = 0
        for n in counts {
            var a = [Double](repeating: 0, count: n)
            a.withUnsafeMutableBytes { dst in
                data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: offset..<(offset + n * 8))
            }
            offset += n * 8
            out.append(a)
        }
        return out
    }
}
