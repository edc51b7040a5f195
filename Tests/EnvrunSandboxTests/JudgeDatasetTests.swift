import EnvrunCore
import EnvrunSandbox
import Foundation
import Testing

// Nested in SandboxSuites (serialized): the sandbox suites' fd and process leak checks must not see
// this suite's runs.
extension SandboxSuites {
    /// Reference solutions of HumanEval and MBPP must pass the harness (samples in Tests/Fixtures/judge; the full
    /// sets are checked by `envrun pack validate`).
    @Suite("Judge: dataset reference solutions")
    struct JudgeDatasetTests {
        struct Record: Decodable {
            var task_id: IntOrString
            var program: String
            var tests: String
            var entry_point: String?
            var setup: String?
        }

        enum IntOrString: Decodable, CustomStringConvertible {
            case int(Int), string(String)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .string(try c.decode(String.self)) }
            }
            var description: String {
                switch self {
                case .int(let i): "\(i)"
                case .string(let s): s
                }
            }
        }

        static func load(_ name: String) throws -> [Record] {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/judge/\(name)")
            let text = try String(contentsOf: url, encoding: .utf8)
            return try text.split(separator: "\n").map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
        }

        func check(_ records: [Record], mbpp: Bool) async throws {
            let judge = try JudgeFixture.judge()
            #expect(records.count >= 20)
            for r in records {
                let entry = r.entry_point ?? AssertHarness.guessEntryPoint(tests: r.tests, program: r.program)
                let outcome = await judge.judge(
                    language: "python", program: r.program,
                    tests: AssertTests(tests: r.tests, entryPoint: entry, setup: r.setup), limits: JudgeFixture.limits)
                #expect(outcome.allPassed && outcome.verdict == .ok,
                        "\(r.task_id): \(outcome.passed)/\(outcome.total) \(outcome.verdict) \(outcome.feedback ?? "")")
                // The same tests against a program that returns None must not pass.
                if mbpp, let entry {
                    let wrong = r.program + "\n\ndef \(entry)(*args, **kwargs):\n    return None\n"
                    let bad = await judge.judge(
                        language: "python", program: wrong,
                        tests: AssertTests(tests: r.tests, entryPoint: entry, setup: r.setup), limits: JudgeFixture.limits)
                    #expect(!bad.allPassed, "\(r.task_id): a program returning None passed")
                }
            }
        }

        @Test func humanEvalSamplePasses() async throws {
            try await check(try Self.load("humaneval-sample.jsonl"), mbpp: false)
        }

        @Test func mbppSamplePasses() async throws {
            try await check(try Self.load("mbpp-sample.jsonl"), mbpp: true)
        }
    }
}
