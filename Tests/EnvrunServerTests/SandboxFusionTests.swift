import EnvrunCore
import EnvrunServer
import Foundation
import HummingbirdTesting
import Testing

@Suite("SandboxFusion POST /run_code")
struct SandboxFusionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let code: String
        let language: String
        let status: String
        let runStatus: String?
        let returnCode: Int?
        let compiled: Bool
        let verdict: Verdict
        var testDescription: String { verdict.rawValue }
    }

    static let cases: [Case] = [
        .init(code: #"print("hi")"#, language: "python", status: "Success", runStatus: "Finished", returnCode: 0,
              compiled: false, verdict: .ok),
        .init(code: "raise ValueError", language: "python", status: "Failed", runStatus: "Finished", returnCode: 1,
              compiled: false, verdict: .runtimeError),
        .init(code: "while True: pass", language: "python", status: "Failed", runStatus: "TimeLimitExceeded",
              returnCode: 137, compiled: false, verdict: .timeLimit),
        .init(code: "import os; os.fork()", language: "python", status: "Failed", runStatus: "Finished",
              returnCode: 159, compiled: false, verdict: .securityViolation),
        .init(code: "#error no", language: "cpp", status: "Failed", runStatus: nil, returnCode: nil, compiled: true,
              verdict: .compileError),
        .init(code: "SANDBOX_BROKEN", language: "python", status: "SandboxError", runStatus: "Error", returnCode: nil,
              compiled: false, verdict: .sandboxError),
    ]

    @Test("verdicts map onto SandboxFusion's status, run_result and compile_result", arguments: cases)
    func mapping(_ c: Case) async throws {
        try await withApp { client in
            let response = try await client.send(.post, "/run_code", value: RunCodeRequest(code: c.code, language: c.language))
            #expect(response.status == .ok)
            let body = try response.decoded(RunCodeResponse.self)
            #expect(body.status == c.status)
            #expect(body.runResult?.status == c.runStatus)
            #expect(body.runResult?.returnCode == c.returnCode)
            #expect((body.compileResult != nil) == c.compiled)
            #expect(body.envrun.verdict == c.verdict)
            #expect(body.status != "SandboxError" || !body.message.isEmpty)
        }
    }

    @Test("SandboxFusion's own request shape: stdin, base64 files, timeouts in seconds, extra fields")
    func peerShape() async throws {
        try await withApp { client in
            let file = Data("data".utf8).base64EncodedString()
            let json = """
                {"code": "print(\\"hi\\")", "language": "python", "compile_timeout": 10, "run_timeout": 3,
                 "memory_limit_MB": -1, "stdin": "in", "files": {"a.txt": "\(file)", "skip": null},
                 "fetch_files": [], "args": []}
                """
            let response = try await client.send(.post, "/run_code", json: json)
            #expect(response.status == .ok)
            let body = try response.decoded(RunCodeResponse.self)
            #expect(body.runResult?.stdout == "hi\na.txt:data\nin")
            #expect(body.executorPodName == "envrun")
            #expect(body.files.isEmpty)
            // The raw JSON uses SandboxFusion's key names.
            #expect(response.text.contains(#""run_result":{"#))
            #expect(response.text.contains(#""execution_time":"#))
            #expect(response.text.contains(#""return_code":0"#))
        }
    }

    @Test("with a language list configured, an unknown language is a 400 naming language")
    func unknownLanguage() async throws {
        try await withApp({ $0.languages = ["python", "cpp"] }) { client in
            let response = try await client.send(.post, "/run_code", value: RunCodeRequest(code: "x", language: "cobol"))
            #expect(response.status == .badRequest)
            #expect(response.errorDetail?.field == "language")
            let aliased = try await client.send(.post, "/run_code", value: RunCodeRequest(code: "print(\"a\")", language: "python3"))
            #expect(aliased.status == .ok)
        }
    }
}
