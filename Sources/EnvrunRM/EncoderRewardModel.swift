import EnvrunCore
import Foundation

/// The local scalar reward model: all-MiniLM-L6-v2 embeddings of prompt and response (OpenBLAS), a trained
/// head over their pair features. Higher is better; scores are the head's raw logits (a pairwise
/// Bradley–Terry scale: `σ(r_a − r_b)` is the modelled probability that a beats b).
///
/// Load with `try EncoderRewardModel.load(headDir: "Models/hh-helpful-head")`.
public struct EncoderRewardModel: ScalarRewardModel {
    public let name: String
    public let encoder: MiniLMEncoder
    public let head: RewardHead
    public let manifest: HeadManifest
    public let cache: EmbeddingCache

    public init(name: String, encoder: MiniLMEncoder, head: RewardHead, manifest: HeadManifest, cache: EmbeddingCache? = nil) {
        self.name = name
        self.encoder = encoder
        self.head = head
        self.manifest = manifest
        self.cache = cache ?? EmbeddingCache(dimension: encoder.dimension)
    }

    /// Loads the encoder (from `modelDir`, else as `EncoderFiles.resolve` finds it, searching above `headDir` too)
    /// and the head in `headDir`. `blasThreads` sets OpenBLAS's thread count (1 by default: the server shares
    /// its cores with sandboxed jobs); pass nil to leave it alone.
    public static func load(modelDir: String? = nil, headDir: String, blasThreads: Int? = 1) throws -> EncoderRewardModel {
        if let blasThreads { BLAS.setThreads(blasThreads) }
        let (head, manifest) = try HeadStore.load(from: headDir)
        let encoder = try MiniLMEncoder.load(
            EncoderFiles.resolve(modelDir, near: [URL(fileURLWithPath: headDir)]), maxLength: manifest.maxLength)
        guard manifest.features.embeddingDimension == encoder.dimension else {
            throw EnvrunError(
                .invalidInput,
                "head expects \(manifest.features.embeddingDimension)-dim embeddings, encoder gives \(encoder.dimension)",
                field: headDir)
        }
        let name = URL(fileURLWithPath: headDir).lastPathComponent
        return EncoderRewardModel(name: "minilm:\(name)", encoder: encoder, head: head, manifest: manifest)
    }

    /// Synchronous scoring (the CLI and the bench call this).
    public func scoresSync(prompts: [String], responses: [String]) throws -> [Double] {
        guard prompts.count == responses.count else {
            throw EnvrunError(.invalidInput, "\(prompts.count) prompts but \(responses.count) responses", field: "responses")
        }
        if prompts.isEmpty { return [] }
        let ep = cache.embeddings(prompts, encoder: encoder, truncation: .left)
        let er = cache.embeddings(responses, encoder: encoder, truncation: .right)
        var rows: [Float] = []
        rows.reserveCapacity(prompts.count * manifest.features.dimension)
        for i in 0..<prompts.count {
            rows += manifest.features.make(prompt: ep[i], response: er[i], promptText: prompts[i], responseText: responses[i])
        }
        return head.rewards(rows, count: prompts.count).map(Double.init)
    }

    /// Runs the encoder on a Dispatch queue so the cooperative thread pool is not blocked by BLAS work.
    public func scores(prompts: [String], responses: [String]) async throws -> [Double] {
        try await withCheckedThrowingContinuation { cont in
            DispatchQueue.global(qos: .userInitiated).async {
                cont.resume(with: Result { try scoresSync(prompts: prompts, responses: responses) })
            }
        }
    }
}
