import EnvrunCore

/// An in-memory `ScalarRewardModel`: the score is `score(prompt, response)`, by default the response
/// length in characters divided by 100. `failure` makes every call throw.
public struct FakeScalarRewardModel: ScalarRewardModel {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let name: String
    let score: @Sendable (String, String) -> Double
    let failure: String?

    public init(
        name: String = "fake-rm", failure: String? = nil,
        score: @escaping @Sendable (String, String) -> Double = { _, response in Double(response.count) / 100 }
    ) {
        self.name = name
        self.failure = failure
        self.score = score
    }

    public func scores(prompts: [String], responses: [String]) async throws -> [Double] {
        if let failure { throw Failure(description: failure) }
        return zip(prompts, responses).map { score($0, $1) }
    }
}
