@testable import EnvrunVerify

/// One comparison and the verdict a careful grader gives.
struct Case: CustomTestStringConvertible, Sendable {
    let gold: String
    let pred: String
    let equivalent: Bool
    init(_ gold: String, _ pred: String, _ equivalent: Bool) {
        self.gold = gold
        self.pred = pred
        self.equivalent = equivalent
    }
    var testDescription: String { "\(gold) vs \(pred) → \(equivalent)" }
}

func verify(_ c: Case, options: VerifyOptions = VerifyOptions()) -> VerifyResult {
    MathVerifier(options: options).verify(gold: c.gold, pred: c.pred)
}

import Testing

/// Every case must be decided (status ok) with the expected verdict.
func expectCase(_ c: Case, options: VerifyOptions = VerifyOptions(), sourceLocation: SourceLocation = #_sourceLocation) {
    let r = verify(c, options: options)
    #expect(r.status == .ok, "status \(r.status): \(r.message ?? "")", sourceLocation: sourceLocation)
    #expect(r.equivalent == c.equivalent, "gold \(r.goldParsed ?? "-") pred \(r.predParsed ?? "-")",
            sourceLocation: sourceLocation)
}
