/// How one generative-RM score is made: sampling, the bias controls, the meta-RM filter.
public struct GRMSettings: Sendable, Equatable, Hashable, Codable {
    /// k: judge samples per scoring (voting@k).
    public var samples: Int = 1
    /// Sampling temperature; nil: 0 (greedy) for one sample, 0.5 for several (the paper's setting).
    public var temperature: Double?
    /// Sample j is drawn with seed `seed + j` and its own shuffle of the responses.
    public var seed: UInt64 = 0
    public var maxTokens: Int = 768
    /// Show the responses in a new random order to every sample and map the scores back (position bias).
    public var shuffle: Bool = true
    /// Extra attempts of a sample whose output has no box, a wrong count or a score out of range.
    public var formatRetries: Int = 2
    /// Samples that must parse for a result; nil: a majority of `samples`.
    public var minValid: Int?
    /// With a meta RM: only the top `kMeta` samples by its rating vote; nil: samples / 2 (at least 1).
    public var kMeta: Int?
    /// Verbosity bias control: a response's mean score loses `lengthPenalty` × (its length / the median
    /// length − 1) when it is longer than the median of the responses scored together. 0: off.
    public var lengthPenalty: Double = 0
    /// Send the template's grammar or regex where the judge's server takes one.
    public var constrain: Bool = true

    /// SPCT hinted sampling: tell the judge which response (an input index) is best. Marks training data only;
    /// never set when scoring rewards.
    public var hintBest: Int?

    public init(samples: Int = 1) { self.samples = samples }

    public var effectiveTemperature: Double { temperature ?? (samples > 1 ? 0.5 : 0) }
    public var requiredValid: Int { min(samples, max(1, minValid ?? (samples / 2 + 1))) }
    public func metaKeep(valid: Int) -> Int { min(valid, max(1, kMeta ?? max(1, samples / 2))) }

    enum CodingKeys: String, CodingKey {
        case samples, temperature, seed, shuffle, constrain
        case maxTokens = "max_tokens"
        case formatRetries = "format_retries"
        case minValid = "min_valid"
        case kMeta = "k_meta"
        case lengthPenalty = "length_penalty"
        case hintBest = "hint_best"
    }
}
