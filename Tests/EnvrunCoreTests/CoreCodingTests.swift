import Foundation
import Testing

@testable import EnvrunCore

@Suite("Core wire formats")
struct CoreCodingTests {
    @Test func execResultUsesSnakeCaseKeysOfTheCLIContract() throws {
        let result = ExecResult(verdict: .timeLimit, timeLimitKind: .wall, exitCode: nil, signal: 9,
                                cpuMs: 1.5, wallMs: 2000, peakMemoryKb: 1024, truncated: true)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
        for key in ["verdict", "signal", "stdout", "stderr", "cpu_ms", "wall_ms", "peak_memory_kb", "truncated"] {
            #expect(object[key] != nil, "missing key \(key)")
        }
        #expect(object["verdict"] as? String == "time_limit")
        #expect(object["time_limit_kind"] as? String == "wall")
        let back = try JSONDecoder().decode(ExecResult.self, from: JSONEncoder().encode(result))
        #expect(back == result)
    }

    @Test func rewardErrorIsAnErrorStatusNotASilentZero() {
        let r = RewardResult.error("judge unavailable")
        #expect(r.status == .error)
        #expect(r.details["error"] == "judge unavailable")
    }

    @Test(arguments: Verdict.allCases)
    func verdictRawValuesAreSnakeCase(_ v: Verdict) {
        #expect(v.rawValue == v.rawValue.lowercased())
        #expect(!v.rawValue.contains(" "))
    }
}
