import AsyncHTTPClient
import EnvrunCore
import EnvrunTesting
import Foundation
import NIOCore
import Testing

/// The real local judge server (llama-cpp-python + SmolLM2-135M, installed by scripts/setup.d/judge.sh):
/// it starts, answers a chat completion, and keeps a GBNF grammar's `Scores: \boxed{N, M}` format.
@Suite("LlamaJudgeServer", .serialized)
struct LlamaJudgeServerTests {
    /// Asks for the judge verdict format, the two scores 1-10.
    static let grammar = #"""
        root ::= reason "\n" "Scores: \\boxed{" score ", " score "}"
        reason ::= [^\n]{1,200}
        score ::= [1-9] | "10"
        """#

    @Test("availability names the set-up when the files are missing")
    func availabilityReason() {
        let missing = ["ENVRUN_JUDGE_PYTHON": "/nonexistent/python", "ENVRUN_JUDGE_MODEL": "/nonexistent/m.gguf"]
        #expect(LlamaJudgeServer.locate(environment: missing) == nil)
        if let reason = LlamaJudgeServer.availability() {
            #expect(reason.contains("scripts/setup.sh"))
        } else {
            #expect(LlamaJudgeServer.locate() != nil)
        }
    }

    @Test("starts, answers /v1/chat/completions, keeps a grammar, stops", .timeLimit(.minutes(4)))
    func chatCompletion() async throws {
        if let reason = LlamaJudgeServer.availability() {
            print("LlamaJudgeServerTests skipped: \(reason)")
            return
        }
        try await FDGate.exclusive {
            let server = try await LlamaJudgeServer.start()
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                print("judge server up in \(String(format: "%.2f", server.startupSeconds)) s at \(server.baseURL)")
                let plain = try await Self.chat(http, server, [
                    "messages": [["role": "user", "content": "Say hello in one short sentence."]],
                    "max_tokens": 32, "temperature": 0, "seed": 1,
                ])
                #expect(!plain.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "empty reply")

                let judged = try await Self.chat(http, server, [
                    "messages": [
                        ["role": "system", "content": "You are a strict judge. Give a one-line reason, then the scores."],
                        ["role": "user", "content": "Question: What is 2+2?\nAnswer A: 4\nAnswer B: 5\nScore A and B from 1 to 10."],
                    ],
                    "max_tokens": 120, "temperature": 0, "seed": 1, "grammar": Self.grammar,
                ])
                let format = #/Scores: \\boxed\{([1-9]|10), ([1-9]|10)\}$/#
                #expect(judged.contains(format), "grammar not kept: \(judged)")
            } catch {
                try? await http.shutdown()
                server.stop()
                throw error
            }
            try await http.shutdown()
            let stopping = Date()
            server.stop()
            let stopSeconds = Date().timeIntervalSince(stopping)
            print("judge server stopped in \(String(format: "%.2f", stopSeconds)) s")
            #expect(stopSeconds < 4, "SIGTERM did not stop the server (it took the SIGKILL after 5 s)")
            #expect(LlamaJudgeServer.modelsAnswer(port: server.port) == false, "still answering after stop()")
        }
    }

    /// POSTs /v1/chat/completions and returns choices[0].message.content.
    static func chat(_ http: HTTPClient, _ server: LlamaJudgeServer, _ body: [String: Any]) async throws -> String {
        var request = HTTPClientRequest(url: server.baseURL.appendingPathComponent("chat/completions").absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        var body = body
        body["model"] = server.modelName
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        let response = try await http.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let text = String(buffer: bytes)
        try #require(response.status == .ok, "status \(response.status): \(text)\nlog: \(server.logPath)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let choices = try #require(json["choices"] as? [[String: Any]], "no choices: \(text)")
        let message = try #require(choices.first?["message"] as? [String: Any], "no message: \(text)")
        return try #require(message["content"] as? String, "no content: \(text)")
    }
}
