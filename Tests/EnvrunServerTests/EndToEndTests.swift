import AsyncHTTPClient
import EnvrunCore
import EnvrunServer
import EnvrunTesting
import Foundation
import NIOCore
import Testing

/// Starts the real `envrun` binary on a free loopback port (port 0, read back from its start line), scores
/// a mixed batch through `/v1/score`, `/run_code` and `/get_reward`, runs the Python client tests against
/// it, and stops it with SIGTERM.
@Suite("end to end: the envrun binary", .serialized, .enabled(if: ServerProcess.binary != nil, "the envrun binary is not built (swift build)"))
struct EndToEndTests {
    @Test("a mixed batch over every scoring route, then the Python clients, then a graceful stop")
    func endToEnd() async throws {
        // The test reads gold answers and references from the listing.
        try await ServerProcess.withRunning(extra: ["--expose-task-secrets"]) { server, http in
            try await scoreMixedBatch(server.url, http)
            try await runCode(server.url, http)
            try await getReward(server.url, http)
            try runPythonClientTests(server.url)
        }
    }

    func scoreMixedBatch(_ url: String, _ http: HTTPClient) async throws {
        let packs = try await http.getJSON(PacksResponse.self, "\(url)/v1/packs").packs
        let math = try #require(packs.first { $0.verifier == "math" && $0.taskCount > 0 }, "no math pack")
        let mathTask = try #require(
            try await http.getJSON(TasksPage.self, "\(url)/v1/packs/\(math.name)/tasks?limit=20").tasks
                .first { $0.answer != nil })
        var items = [
            ScoreItem(pack: math.name, taskID: mathTask.id, response: "The answer is \\boxed{\(mathTask.answer!)}."),
            ScoreItem(pack: math.name, taskID: mathTask.id, response: "The answer is \\boxed{-987654321}."),
            ScoreItem(pack: math.name, taskID: "no-such-task", response: "1"),
        ]
        var expected: [(reward: Double?, status: RewardStatus)] = [(1, .ok), (0, .ok), (nil, .error)]
        var code = packs.first { $0.verifier == "code_tests" && $0.taskCount > 0 }
        if let pack = code {
            let task = try #require(
                try await http.getJSON(TasksPage.self, "\(url)/v1/packs/\(pack.name)/tasks?limit=20").tasks
                    .first { $0.reference != nil && $0.entryPoint != nil })
            let entry = task.entryPoint!
            let reference = ScoreItem(pack: pack.name, taskID: task.id, response: "```python\n\(task.reference!)\n```")
            // A build without the code judge answers status error saying so: the code half cannot run.
            let probe = try await http.postJSON(ScoreResponse.self, "\(url)/v1/score", ScoreRequest(items: [reference]))
            if probe.results.first?.details["error"]?.contains("no code judge") == true {
                print("end-to-end: the code half is skipped: \(probe.results[0].details["error"]!)")
                code = nil
            } else {
                items += [
                    reference,
                    ScoreItem(pack: pack.name, taskID: task.id,
                              response: "```python\ndef \(entry)(*a, **k):\n    return None\n```"),
                    ScoreItem(pack: pack.name, taskID: task.id,
                              response: "```python\nimport os\nwhile True:\n    os.fork()\n```"),
                ]
                expected += [(1, .ok), (0, .ok), (0, .ok)]
            }
        } else {
            Issue.record("no code_tests pack is served: the code half of the mixed batch did not run")
        }
        let results = try await http.postJSON(ScoreResponse.self, "\(url)/v1/score", ScoreRequest(items: items)).results
        #expect(results.count == items.count)
        for (i, (result, want)) in zip(results, expected).enumerated() {
            #expect(result.status == want.status, "item \(i): \(result)")
            if let reward = want.reward { #expect(result.reward == reward, "item \(i): \(result)") }
        }
        #expect(results[2].details["error_code"] == "not_found")
        if code != nil {
            let hostile = results[5].details["verdict"] ?? ""
            #expect(["security_violation", "runtime_error", "time_limit", "memory_limit"].contains(hostile),
                    "fork bomb verdict: \(results[5])")
        }
    }

    func runCode(_ url: String, _ http: HTTPClient) async throws {
        func run(_ code: String, timeout: Double = 5) async throws -> RunCodeResponse {
            var request = RunCodeRequest(code: code, language: "python", runTimeout: timeout)
            request.memoryLimitMB = -1
            return try await http.postJSON(RunCodeResponse.self, "\(url)/run_code", request)
        }
        let ping = try await http.execute(HTTPClientRequest(url: "\(url)/v1/ping"), timeout: .seconds(10))
        #expect(String(buffer: try await ping.body.collect(upTo: 1024)) == #""pong""#)
        let ok = try await run("print('hello')")
        if ok.status == "SandboxError", ok.message.contains("unavailable") {
            // A build or machine without the sandbox: the answer must still be SandboxError's shape.
            print("end-to-end: /run_code checks skipped: \(ok.message)")
            #expect(ok.runResult?.status == "Error")
            return
        }
        #expect(ok.status == "Success")
        #expect(ok.runResult?.stdout == "hello\n")
        let failing = try await run("raise SystemExit(3)")
        #expect(failing.status == "Failed")
        #expect(failing.runResult?.returnCode == 3)
        let slow = try await run("while True:\n    pass", timeout: 1)
        #expect(slow.status == "Failed")
        #expect(slow.runResult?.status == "TimeLimitExceeded")
        let hostile = try await run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\nprint('escaped')")
        #expect(hostile.status == "Failed")
        #expect(hostile.runResult?.stdout?.contains("escaped") != true)
    }

    func getReward(_ url: String, _ http: HTTPClient) async throws {
        let packs = try await http.getJSON(PacksResponse.self, "\(url)/v1/packs").packs
        let math = try #require(packs.first { $0.verifier == "math" && $0.taskCount > 0 })
        let task = try #require(
            try await http.getJSON(TasksPage.self, "\(url)/v1/packs/\(math.name)/tasks?limit=20").tasks
                .first { $0.answer != nil })
        let request = GetRewardRequest(
            query: ["Q A: \\boxed{\(task.answer!)}", "Q A: \\boxed{-987654321}", "Q2 A: \\boxed{12}"],
            prompts: ["Q A:", "Q A:", "Q2 A:"],
            labels: [.text("\(math.name)/\(task.id)"), .text("\(math.name)/\(task.id)"), .text("12")])
        let body = try await http.postJSON(GetRewardResponse.self, "\(url)/get_reward", request)
        #expect(body.rewards == [1, 0, 1])
        #expect(body.scores == [1, 0, 1])
        #expect(body.extraLogs["envrun_error"] == [0, 0, 0])
    }

    func runPythonClientTests(_ url: String) throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("\(python) is missing: the Python client tests did not run (scripts/setup.sh installs it)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "unittest", "discover", "-v", "-s", ServerProcess.root + "/clients/python/tests"]
        var environment = ProcessInfo.processInfo.environment
        environment["ENVRUN_URL"] = url
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python client tests failed:\n\(text)")
        #expect(!text.contains("skipped 'ENVRUN_URL"), "the live tests were skipped:\n\(text)")
    }
}

extension HTTPClient {
    func getJSON<T: Decodable>(_ type: T.Type, _ url: String) async throws -> T {
        let response = try await execute(HTTPClientRequest(url: url), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        try #require(response.status == .ok, "GET \(url): \(response.status) \(String(buffer: body))")
        return try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }

    func postJSON<T: Decodable>(_ type: T.Type, _ url: String, _ value: some Encodable) async throws -> T {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(value)))
        let response = try await execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 64 << 20)
        try #require(response.status == .ok, "POST \(url): \(response.status) \(String(buffer: body))")
        return try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }
}
