import Foundation
import Testing
@testable import EnvrunVerify

/// The `envrun verify --jsonl` contract: one result line per input line, in order; bad lines get error lines.
@Suite("jsonl batch")
struct BatchTests {
    func decode(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func resultLinesKeepOrderAndReportBadLines() throws {
        let input = [
            #"{"gold": "\\frac12", "pred": "The answer is $0.5$."}"#,
            #"not json at all"#,
            #"{"gold": "3"}"#,
            #"{"id": 7, "gold": "x=3", "pred": "4"}"#,
            #"{"gold": "3", "pred": "\\frac{"}"#,
        ]
        let lines = input.enumerated().map { BatchVerify.resultLine(for: Substring($1), lineNumber: $0 + 1, verifier: MathVerifier()) }
        #expect(lines.count == input.count)
        let objs = try lines.map(decode)
        #expect(objs[0]["equivalent"] as? Bool == true && objs[0]["status"] as? String == "ok")
        #expect(objs[0]["gold_parsed"] as? String == "1/2" && objs[0]["pred_parsed"] as? String == "1/2")
        #expect(objs[1]["status"] as? String == "error" && (objs[1]["message"] as? String)?.contains("line 2") == true)
        #expect(objs[2]["status"] as? String == "error")
        #expect(objs[3]["id"] as? Int == 7 && objs[3]["equivalent"] as? Bool == false && objs[3]["status"] as? String == "ok")
        #expect(objs[4]["status"] as? String == "unparseable")
        for o in objs {
            for key in ["equivalent", "status", "gold_parsed", "pred_parsed"] { #expect(o.keys.contains(key)) }
        }
    }

    @Test func optionsDecodeWithDefaults() throws {
        let o = try JSONDecoder().decode(VerifyOptions.self, from: Data(#"{"lastNumberFallback": false, "limits": {"maxWork": 5000}}"#.utf8))
        #expect(!o.lastNumberFallback && o.floatTolerance == nil && !o.allBoxes)
        #expect(o.limits.maxWork == 5000 && o.limits.maxDepth == VerifyLimits().maxDepth)
        let tight = MathVerifier(options: o).verify(gold: "\\frac{1}{2004!}", pred: "\\frac{1}{2006!}")
        #expect(tight.status == .undecided && tight.work <= 5000)
    }

    @Test func resultRoundTripsThroughJSON() throws {
        let r = MathVerifier().verify(gold: "(1, 2]", pred: "(1, 2]")
        let back = try JSONDecoder().decode(VerifyResult.self, from: try JSONEncoder().encode(r))
        #expect(back == r && r.equivalent)
    }
}
