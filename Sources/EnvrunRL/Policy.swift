import EnvrunCore

/// A prompt as a policy sees it: the pack's rendered prompt and the task it came from.
public struct PolicyPrompt: Sendable, Equatable {
    public var pack: String
    public var taskID: String
    /// The pack's prompt template applied to the task's prompt.
    public var text: String
    public init(pack: String, taskID: String, text: String) {
        self.pack = pack
        self.taskID = taskID
        self.text = text
    }
}

/// One sampled response with the token-level record a trainer needs.
public struct PolicySample: Sendable, Equatable {
    public var promptIDs: [Int]
    public var responseIDs: [Int]
    public var responseText: String
    /// Log-prob of each response token under the sampling policy.
    public var logprobs: [Double]
    public var truncated: Bool
    /// Whether `responseIDs` align one to one with `logprobs` (a server that returns token text only
    /// is re-tokenised; when that does not line up the ids are the re-tokenised text and this is false).
    public var idsAligned: Bool
    public var policyVersion: Int
    public init(promptIDs: [Int], responseIDs: [Int], responseText: String, logprobs: [Double], truncated: Bool,
                idsAligned: Bool = true, policyVersion: Int) {
        self.promptIDs = promptIDs
        self.responseIDs = responseIDs
        self.responseText = responseText
        self.logprobs = logprobs
        self.truncated = truncated
        self.idsAligned = idsAligned
        self.policyVersion = policyVersion
    }
}

/// The seam between the driver and whatever generates responses: the in-process `tiny` transformer
/// (`TinyRolloutPolicy`, which also learns in process) or an OpenAI-compatible completions server
/// (`OpenAICompletionsPolicy`, whose batches an external trainer consumes).
public protocol Policy: Sendable {
    var name: String { get }
    /// `samples` responses for every prompt, grouped by prompt: result[i] belongs to prompts[i / samples].
    mutating func rollouts(for prompts: [PolicyPrompt], samples: Int) async throws -> [PolicySample]
}

/// The tiny policy behind the `Policy` protocol: digits in, digits out, its own seeded RNG.
public struct TinyRolloutPolicy: Policy {
    public var policy: TinyPolicy
    public var rng: SplitMix64
    public var name: String { "tiny" }

    public init(policy: TinyPolicy, rng: SplitMix64) {
        self.policy = policy
        self.rng = rng
    }

    public mutating func rollouts(for prompts: [PolicyPrompt], samples: Int) async throws -> [PolicySample] {
        let encoded = try prompts.map { try policy.codec.encodePrompt($0.text) }
        let repeated = encoded.flatMap { [[Int32]](repeating: $0, count: samples) }
        return policy.generate(prompts: repeated, greedy: false, rng: &rng).enumerated().map { i, g in
            PolicySample(
                promptIDs: repeated[i].map(Int.init), responseIDs: g.tokens.map(Int.init),
                responseText: policy.codec.decode(g.tokens), logprobs: g.logprobs, truncated: g.truncated,
                policyVersion: policy.version)
        }
    }
}
