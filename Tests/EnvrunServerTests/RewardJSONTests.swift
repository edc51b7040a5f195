import EnvrunCore
@testable import EnvrunServer
import Foundation
import NIOCore
import Testing

@Suite("RewardJSON: the direct writer of the /v1/score answer")
struct RewardJSONTests {
    static let samples: [RewardResult] = [
        RewardResult(reward: 1, details: ["verdict": "correct", "extracted_answer": "18"]),
        RewardResult(reward: 0.25, status: .ok, source: .scalarRM, components: ["tests_passed": 0.25, "format": 1],
                     stepRewards: [0.1, -2.5e-7, 3], details: [:]),
        RewardResult(reward: -1234.5678, status: .notApplicable, source: .generativeRM),
        .error("quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} unicode é 漢字 🙂 </script>"),
        RewardResult(reward: 1e300, details: ["k\"ey": "v\u{1F}"]),
    ]

    @Test("JSONDecoder reads back exactly what was written")
    func roundTrip() throws {
        let buffer = RewardJSON.encode(Self.samples)
        let decoded = try JSONDecoder().decode(ScoreResponse.self, from: Data(buffer: buffer))
        #expect(decoded.results == Self.samples)
        let empty = try JSONDecoder().decode(ScoreResponse.self, from: Data(buffer: RewardJSON.encode([])))
        #expect(empty.results.isEmpty)
    }

    @Test("the output is valid JSON for JSONSerialization too, with snake_case keys")
    func valid() throws {
        let data = Data(buffer: RewardJSON.encode(Self.samples))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == Self.samples.count)
        #expect(results[1]["step_rewards"] != nil)
        #expect(results[0]["step_rewards"] == nil)
    }

    @Test("non-finite component values become null rather than invalid JSON")
    func nonFinite() throws {
        let data = Data(buffer: RewardJSON.encode([RewardResult(reward: 0, components: ["x": .nan, "y": .infinity])]))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""x":null"#))
        #expect(text.contains(#""y":null"#))
        #expect((try? JSONSerialization.jsonObject(with: data)) != nil)
    }
}
