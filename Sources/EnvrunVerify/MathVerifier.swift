import EnvrunCore

/// Placeholder API of the math verifier (issue 3); the implementation replaces the body.
public enum VerifyStatus: String, Codable, Sendable {
    case ok, unparseable, error
}

public struct VerifyOptions: Codable, Sendable, Equatable {
    /// Fall back to the last number in the response when no marked answer is found.
    public var lastNumberFallback: Bool = true
    /// When set, numbers within this relative tolerance are equal (e.g. 0.333 vs 1/3).
    public var floatTolerance: Double? = nil
    public init() {}
}

public struct VerifyResult: Codable, Sendable, Equatable {
    public var equivalent: Bool
    public var status: VerifyStatus
    public var goldParsed: String?
    public var predParsed: String?
    public var message: String?

    public init(equivalent: Bool, status: VerifyStatus, goldParsed: String? = nil, predParsed: String? = nil,
                message: String? = nil) {
        self.equivalent = equivalent
        self.status = status
        self.goldParsed = goldParsed
        self.predParsed = predParsed
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case equivalent, status, message
        case goldParsed = "gold_parsed"
        case predParsed = "pred_parsed"
    }
}

public struct MathVerifier: Sendable {
    public var options: VerifyOptions
    public init(options: VerifyOptions = VerifyOptions()) { self.options = options }

    /// `pred` may be a whole model response; the answer is extracted from it.
    public func verify(gold: String, pred: String) -> VerifyResult {
        VerifyResult(equivalent: false, status: .error, message: "math verifier not implemented yet")
    }
}
