import EnvrunCore
import Foundation

/// A trained head on disk: `head.json` (what it is and how it was trained) and `head.safetensors`
/// (`theta`, `mean`, `scale`).
public struct HeadManifest: Codable, Sendable, Equatable {
    public var format = "envrun-rm-head/1"
    public var encoder = "sentence-transformers/all-MiniLM-L6-v2"
    public var maxLength: Int
    public var features: PairFeatures
    public var hidden: Int
    public var training: TrainingConfig?
    /// Free notes: command line, data files, split, date.
    public var notes: [String: String]

    public init(maxLength: Int, features: PairFeatures, hidden: Int, training: TrainingConfig?, notes: [String: String]) {
        self.maxLength = maxLength
        self.features = features
        self.hidden = hidden
        self.training = training
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey {
        case format, encoder, features, hidden, training, notes
        case maxLength = "max_length"
    }
}

public enum HeadStore {
    public static func save(_ head: RewardHead, manifest: HeadManifest, to dir: String) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw EnvrunError(.io, "cannot create head folder: \(error.localizedDescription)", field: dir)
        }
        let tensors: [String: (shape: [Int], values: [Float])] = [
            "theta": ([head.theta.count], head.theta),
            "mean": ([head.mean.count], head.mean),
            "scale": ([head.scale.count], head.scale),
        ]
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try SafeTensors.encode(tensors, metadata: ["format": manifest.format]).write(
                to: URL(fileURLWithPath: dir + "/head.safetensors"), options: .atomic)
            try enc.encode(manifest).write(to: URL(fileURLWithPath: dir + "/head.json"), options: .atomic)
        } catch {
            throw EnvrunError(.io, "cannot write head: \(error.localizedDescription)", field: dir)
        }
    }

    public static func load(from dir: String) throws -> (RewardHead, HeadManifest) {
        let manifestPath = dir + "/head.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw EnvrunError(.notFound, "no head.json in the head folder (train one with `envrun rm train`)", field: manifestPath)
        }
        let manifest: HeadManifest
        do { manifest = try JSONDecoder().decode(HeadManifest.self, from: data) } catch {
            throw EnvrunError(.invalidInput, "head.json is not a head manifest: \(error)", field: manifestPath)
        }
        guard manifest.format == "envrun-rm-head/1" else {
            throw EnvrunError(.invalidInput, "unknown head format \(manifest.format)", field: manifestPath)
        }
        let st = try SafeTensors(contentsOf: dir + "/head.safetensors")
        let d = manifest.features.dimension
        let hd = manifest.hidden
        let count = hd == 0 ? d + 1 : hd * d + 2 * hd + 1
        let head = RewardHead(
            inputDimension: d, hidden: hd, mean: try st.floats("mean", shape: [d]),
            scale: try st.floats("scale", shape: [d]), theta: try st.floats("theta", shape: [count]))
        return (head, manifest)
    }
}
