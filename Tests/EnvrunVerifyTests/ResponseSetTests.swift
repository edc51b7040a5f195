import Foundation
import Testing
@testable import EnvrunVerify

/// The labelled set of model-style responses (`scripts/bench/real_responses.jsonl`, issue 21): answers in
/// prose and math environments, relations, several boxes, labelled golds, decimal commas, units, matrices,
/// rounded decimals, renamed variables, ordinary boxes and traps. `envrun bench verify` prints the figures
/// and every disagreement; this keeps the floor.
@Suite("model-style responses")
struct ResponseSetTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/bench/real_responses.jsonl")

    @Test("at least 97% agreement with the labels and no false positive")
    func agreement() throws {
        let pairs = try BenchData.pairs(fromJSONLines: String(contentsOf: Self.file, encoding: .utf8), source: "set")
        #expect(pairs.count >= 400)
        let verifier = MathVerifier()
        var agree = 0
        var falsePositives: [String] = []
        for p in pairs {
            let r = verifier.verify(gold: p.gold, pred: p.pred)
            if r.equivalent == p.expected { agree += 1 }
            if r.equivalent && !p.expected { falsePositives.append("\(p.id): \(p.gold) | \(p.pred)") }
        }
        #expect(Double(agree) / Double(pairs.count) >= 0.97, "agreement \(agree)/\(pairs.count)")
        #expect(falsePositives.isEmpty, "accepted though labelled wrong:\n\(falsePositives.joined(separator: "\n"))")
    }

    @Test("every class has positives and negatives")
    func classes() throws {
        let lines = try String(contentsOf: Self.file, encoding: .utf8).split(separator: "\n")
        var counts: [String: (yes: Int, no: Int)] = [:]
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let c = try #require(object["class"] as? String)
            let expected = try #require(object["expected"] as? Bool)
            counts[c, default: (0, 0)].yes += expected ? 1 : 0
            counts[c, default: (0, 0)].no += expected ? 0 : 1
        }
        let required = ["prose", "relation", "multibox", "labelled", "decimal_comma", "units", "matrix", "rounding",
                        "variable", "control_boxed", "trap"]
        for c in required {
            let n = counts[c] ?? (0, 0)
            #expect(n.yes >= 6 && n.no >= 6, "class \(c): \(n.yes) positive, \(n.no) negative")
        }
    }
}
