import EnvrunCore
import Foundation

/// One (gold, response) pair of the verifier benchmark, with the verdict a careful grader expects.
public struct BenchPair: Sendable, Codable {
    public var id: String
    public var gold: String
    public var pred: String
    public var expected: Bool
    public init(id: String, gold: String, pred: String, expected: Bool) {
        self.id = id
        self.gold = gold
        self.pred = pred
        self.expected = expected
    }
}

/// Reads benchmark pairs from the formats in use: envrun task packs (`Tasks/*/tasks.jsonl[.gz]`, TaskSpec lines
/// with `answer` and `metadata.solution`), the raw MATH-500 file (`answer`, `solution`, `unique_id`), the raw
/// GSM8K file (`question`, `answer` ending in `#### N`) and GSM8K's `example_model_solutions` (four sampled
/// solutions per question, each with an `is_correct` label).
public enum BenchData {
    public static func pairs(fromJSONLines text: String, source: String) throws -> [BenchPair] {
        var out: [BenchPair] = []
        for (k, line) in text.split(separator: "\n").enumerated() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw EnvrunError(.invalidInput, "\(source): line \(k + 1) is not a JSON object")
            }
            let id = (obj["id"] as? String) ?? (obj["unique_id"] as? String) ?? "\(source):\(k + 1)"
            if let gold = obj["gold"] as? String, let pred = obj["pred"] as? String, let expected = obj["expected"] as? Bool {
                // A labelled pair (scripts/bench/real_responses.jsonl).
                out.append(BenchPair(id: id, gold: gold, pred: pred, expected: expected))
            } else if let answer = obj["answer"] as? String, let meta = obj["metadata"] as? [String: Any],
                var solution = meta["solution"] as? String {
                // The GSM8K pack keeps the reference solution without its last line `#### N`; put it back so
                // the pair is the dataset's original reference solution (MATH solutions keep their \boxed{}).
                if !solution.contains("\\boxed"), !solution.contains("####") { solution += "\n#### " + answer }
                out.append(BenchPair(id: id, gold: answer, pred: solution, expected: true))
            } else if let answer = obj["answer"] as? String, let solution = obj["solution"] as? String {
                out.append(BenchPair(id: id, gold: answer, pred: solution, expected: true))
            } else if let answer = obj["answer"] as? String, obj["question"] != nil, let r = answer.range(of: "####") {
                let gold = answer[r.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
                out.append(BenchPair(id: "test-\(k)", gold: gold, pred: answer, expected: true))
            } else if let truth = obj["ground_truth"] as? String {
                let gold = truth.components(separatedBy: "\n").last.map { line -> String in
                    let s = line.components(separatedBy: "A:").last ?? line
                    return (s.components(separatedBy: "####").last ?? s).trimmingCharacters(in: .whitespaces)
                } ?? ""
                for model in ["6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"] {
                    guard let m = obj[model] as? [String: Any], let sol = m["solution"] as? String,
                        let ok = m["is_correct"] as? Bool else { continue }
                    out.append(BenchPair(id: "\(k)/\(model)", gold: gold, pred: sol, expected: ok))
                }
            } else {
                throw EnvrunError(.invalidInput, "\(source): line \(k + 1) has no recognised answer fields")
            }
        }
        return out
    }
}

/// Times the verifier over pairs: `repeats` full passes, one thread, median reported by the caller.
public struct VerifierBenchRun: Sendable {
    public var secondsPerPass: [Double]
    public var verdicts: [VerifyResult]

    public static func run(_ pairs: [BenchPair], verifier: MathVerifier, repeats: Int) -> VerifierBenchRun {
        var times: [Double] = []
        var verdicts: [VerifyResult] = []
        let clock = ContinuousClock()
        for r in 0..<max(1, repeats) {
            var pass: [VerifyResult] = []
            pass.reserveCapacity(pairs.count)
            let t = clock.measure {
                for p in pairs { pass.append(verifier.verify(gold: p.gold, pred: p.pred)) }
            }
            times.append(Double(t.components.seconds) + Double(t.components.attoseconds) * 1e-18)
            if r == 0 { verdicts = pass }
        }
        return VerifierBenchRun(secondsPerPass: times, verdicts: verdicts)
    }

    public var medianSeconds: Double {
        let s = secondsPerPass.sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }
}
