import AsyncHTTPClient
import EnvrunTesting
import Foundation
import Testing

/// The trainers' own client libraries from PyPI (openenv-core, openreward, sandbox-fusion; installed by
/// `scripts/setup.d/clients.sh` into a cached venv) drive the real `envrun` binary: Tests/ProtocolClients.
/// Two servers: the shipped packs with a small session bound (to reach CAPACITY_REACHED), and a pack judged by
/// a judge that is not there (every check fails on envrun's side and must arrive masked, never as a reward).
@Suite("protocols: the trainers' client libraries against the envrun binary", .serialized,
       .enabled(if: ServerProcess.binary != nil, "the envrun binary is not built (swift build)"))
struct ProtocolClientTests {
    static let python = ServerProcess.root + "/.cache/clients/python"
    static let maxSessions = 24

    @Test("openenv-core, openreward and sandbox-fusion clients", .timeLimit(.minutes(10)))
    func clients() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            print("protocol client tests skipped: \(Self.python) is missing (bash scripts/setup.sh installs the clients)")
            return
        }
        let judged = [
            "--packs", ServerProcess.root + "/Tests/Fixtures/judged-packs",
            "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "none",
        ]
        try await ServerProcess.withRunning(extra: judged) { judgedServer, _ in
            try await ServerProcess.withRunning(extra: ["--max-sessions", "\(Self.maxSessions)"], nested: true) { server, _ in
                let output = try Self.runTests([
                    "ENVRUN_URL": server.url, "ENVRUN_JUDGED_URL": judgedServer.url,
                    "ENVRUN_MAX_SESSIONS": "\(Self.maxSessions)",
                ])
                #expect(!output.contains("skipped '"), "a protocol client test skipped:\n\(output)")
                #expect(server.errorLines.isEmpty, "the server logged errors:\n\(server.errorLines.joined(separator: "\n"))")
            }
        }
    }

    static func runTests(_ env: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "unittest", "discover", "-v", "-s", ServerProcess.root + "/Tests/ProtocolClients"]
        process.currentDirectoryURL = URL(fileURLWithPath: ServerProcess.root + "/Tests/ProtocolClients")
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "protocol client tests failed:\n\(text)")
        return text
    }
}
