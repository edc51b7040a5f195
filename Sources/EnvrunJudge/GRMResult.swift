/// One judge sample: the order the responses were shown in, what the judge wrote, and its scores mapped
/// back to input order.
public struct GRMSample: Sendable, Equatable, Codable {
    public var index: Int
    /// `order[p]` is the input index of the response shown at position p+1.
    public var order: [Int]
    public var seed: UInt64
    public var temperature: Double
    /// The judge's final output (the last attempt's), cut to 8,000 characters.
    public var text: String
    /// Scores in input order; nil when no attempt parsed.
    public var scores: [Int]?
    public var principles: String?
    public var error: String?
    public var attempts: Int
    /// The meta RM's rating of this sample, when one is configured.
    public var metaScore: Double?
    /// Whether this sample's scores count in the vote.
    public var voted: Bool
    public var judgeMs: Double

    enum CodingKeys: String, CodingKey {
        case index, order, seed, temperature, text, scores, principles, error, attempts, voted
        case metaScore = "meta_score"
        case judgeMs = "judge_ms"
    }
}

/// The outcome of scoring n responses to one query. `status` is `error` (with `error` saying why and the
/// samples showing what the judge wrote) when too few samples parsed: never a made-up score.
public struct GRMResult: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case ok, error }
    public var status: Status
    /// voting@k: per response, in input order, the sum of its scores over the voting samples, after the
    /// length penalty (scaled by the voters). Empty on error.
    public var votes: [Double]
    /// Per response, the mean score of the voting samples (1–10), after the length penalty.
    public var means: [Double]
    /// Responses tied for the highest vote, when more than one is (input indices).
    public var ties: [Int]
    public var samples: [GRMSample]
    public var voters: Int
    public var error: String?
    public var judge: String
    public var template: String
    /// Served from the cache (no judge call).
    public var cached: Bool = false

    enum CodingKeys: String, CodingKey {
        case status, votes, means, ties, samples, voters, error, judge, template, cached
    }

    /// The mean mapped onto [0, 1]: (mean − 1) / 9.
    public func normalized(_ i: Int) -> Double { max(0, min(1, (means[i] - 1) / 9)) }
}
