import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

/// A fake vLLM server on 127.0.0.1 (Python http.server, by absolute path) with the response shapes of
/// vLLM's `/classify`, `/pooling` and `/version`. `FAIL_FIRST` makes the first N scoring requests answer 503;
/// `SLOW` makes scoring sleep that many seconds.
final class FakeVLLM: @unchecked Sendable {
    static let script = #"""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
FAIL_FIRST = int(os.environ.get("FAIL_FIRST", "0"))
SLOW = float(os.environ.get("SLOW", "0"))
state = {"calls": 0}
def reward(text):
    return len(text) / 100.0
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/version":
            return self.reply(200, {"version": "0.11.0"})
        self.reply(404, {"error": "not found"})
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        state["calls"] += 1
        if state["calls"] <= FAIL_FIRST:
            return self.reply(503, {"error": "warming up"})
        if SLOW:
            time.sleep(SLOW)
        texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
        if req.get("model") != "fake-rm":
            return self.reply(400, {"error": "unknown model"})
        # answer in reverse order to check that results are matched by index
        idx = list(range(len(texts)))[::-1]
        if self.path == "/classify":
            data = [{"index": i, "label": "LABEL_0", "probs": [1 - reward(texts[i]), reward(texts[i])], "num_classes": 2} for i in idx]
        elif self.path == "/pooling":
            data = [{"index": i, "object": "pooling", "data": [[0.0], [reward(texts[i])]]} for i in idx]
        else:
            return self.reply(404, {"error": "not found"})
        self.reply(200, {"id": "x", "object": "list", "created": 0, "model": req["model"], "data": data,
                         "usage": {"prompt_tokens": 1, "total_tokens": 1}})
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""#

    let process = Process()
    let port: Int

    init(environment: [String: String] = [:]) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-fake-vllm-\(getpid()).py").path
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: TestSupport.python)
        process.arguments = ["-I", path]
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw EnvrunError(.internal, "fake server did not start")
        }
        port = p
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Kills the server and reaps it (SIGKILL + waitpid; no run-loop polling).
    func stop() {
        let pid = process.processIdentifier
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}

@Suite(.serialized) struct RemoteRewardModelTests {
    func config(_ server: FakeVLLM, _ endpoint: VLLMRewardModel.Endpoint) -> VLLMRewardModel.Config {
        var c = VLLMRewardModel.Config(baseURL: server.url, model: "fake-rm")
        c.endpoint = endpoint
        c.template = "Q: {prompt}\nA: {response}"
        c.backoffSeconds = 0.01
        c.timeoutSeconds = 5
        c.maxBatch = 2
        return c
    }

    @Test(arguments: [VLLMRewardModel.Endpoint.classify, .pooling])
    func scoresInInputOrder(endpoint: VLLMRewardModel.Endpoint) async throws {
        let server = try FakeVLLM()
        defer { server.stop() }
        let rm = VLLMRewardModel(config(server, endpoint))
        #expect(try await rm.probeVersion() == "0.11.0")
        let responses = ["a", "bbbb", "cc", "dddddddddd", "e"]
        let scores = try await rm.scores(prompts: Array(repeating: "hi", count: 5), responses: responses)
        let expected = responses.map { Double("Q: hi\nA: \($0)".count) / 100 }
        #expect(scores.count == 5)
        for (s, e) in zip(scores, expected) { #expect(abs(s - e) < 1e-9) }
    }

    @Test func retriesServerErrorsWithBackoff() async throws {
        let server = try FakeVLLM(environment: ["FAIL_FIRST": "2"])
        defer { server.stop() }
        let rm = VLLMRewardModel(config(server, .classify))
        let scores = try await rm.scores(prompts: ["p"], responses: ["r"])
        #expect(scores.count == 1)
    }

    @Test func givesUpAfterBoundedRetries() async throws {
        let server = try FakeVLLM(environment: ["FAIL_FIRST": "100"])
        defer { server.stop() }
        var c = config(server, .classify)
        c.maxRetries = 2
        do {
            _ = try await VLLMRewardModel(c).scores(prompts: ["p"], responses: ["r"])
            Issue.record("expected unavailable")
        } catch let e as EnvrunError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("3 attempts"), "\(e.message)")
            #expect(e.message.contains("503"))
        }
    }

    @Test func clientErrorsAreNotRetried() async throws {
        let server = try FakeVLLM()
        defer { server.stop() }
        var c = config(server, .classify)
        c.model = "other"
        do {
            _ = try await VLLMRewardModel(c).scores(prompts: ["p"], responses: ["r"])
            Issue.record("expected invalidInput")
        } catch let e as EnvrunError {
            #expect(e.code == .invalidInput)
            #expect(e.message.contains("HTTP 400"))
        }
    }

    @Test func timesOut() async throws {
        let server = try FakeVLLM(environment: ["SLOW": "3"])
        defer { server.stop() }
        var c = config(server, .classify)
        c.timeoutSeconds = 0.5
        c.maxRetries = 0
        do {
            _ = try await VLLMRewardModel(c).scores(prompts: ["p"], responses: ["r"])
            Issue.record("expected a timeout")
        } catch let e as EnvrunError {
            print("timeout error: \(e)")
            #expect(e.code == .unavailable)
            #expect(e.message.lowercased().contains("timed out"), "\(e.message)")
        }
    }

    @Test func unreachableServerIsUnavailable() async throws {
        var c = VLLMRewardModel.Config(baseURL: URL(string: "http://127.0.0.1:9")!, model: "fake-rm")
        c.maxRetries = 1
        c.backoffSeconds = 0.01
        c.timeoutSeconds = 2
        do {
            _ = try await VLLMRewardModel(c).probeVersion()
            Issue.record("expected unavailable")
        } catch let e as EnvrunError {
            #expect(e.code == .unavailable)
        }
    }

    @Test func parsesCurrentResponseShapes() throws {
        let classify = #"{"data":[{"index":1,"label":"x","probs":[0.2,0.8],"num_classes":2},{"index":0,"label":"y","probs":[0.7],"num_classes":1}]}"#
        #expect(try VLLMRewardModel.parse(Data(classify.utf8), endpoint: .classify, count: 2, classIndex: nil) == [0.7, 0.8])
        #expect(try VLLMRewardModel.parse(Data(classify.utf8), endpoint: .classify, count: 2, classIndex: 0) == [0.7, 0.2])
        let pooling = #"{"data":[{"index":0,"object":"pooling","data":1.5},{"index":1,"object":"pooling","data":[[0.1],[0.2],[-3.0]]}]}"#
        #expect(try VLLMRewardModel.parse(Data(pooling.utf8), endpoint: .pooling, count: 2, classIndex: nil) == [1.5, -3.0])
        #expect(throws: EnvrunError.self) {
            try VLLMRewardModel.parse(Data(pooling.utf8), endpoint: .pooling, count: 3, classIndex: nil)
        }
        #expect(throws: EnvrunError.self) {
            try VLLMRewardModel.parse(Data("{}".utf8), endpoint: .classify, count: 1, classIndex: nil)
        }
    }
}
