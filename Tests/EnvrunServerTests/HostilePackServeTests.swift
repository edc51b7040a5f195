import EnvrunTesting
import Foundation
import Testing

/// The real binary on a packs folder with one hostile pack: `envrun serve` and `envrun pack validate`
/// refuse to start, exit 1, and say which file and which cap (issue 19). The library tests cover each
/// class of hostile file; this checks what the user sees.
@Suite("hostile pack at start-up")
struct HostilePackServeTests {
    /// Runs `envrun ARGS` until it exits (or, as the old binary did, starts listening; then it is stopped
    /// at once); the output and the exit status.
    static func run(_ args: [String]) async throws -> (output: String, status: Int32, listened: Bool) {
        let binary = try #require(ServerProcess.binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        let (output, listened) = await Task.detached { () -> (String, Bool) in
            var seen = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return (String(decoding: seen, as: UTF8.self), false) }
                seen.append(chunk)
                if String(decoding: seen, as: UTF8.self).contains("listening") {
                    process.terminate()
                    return (String(decoding: seen, as: UTF8.self), true)
                }
            }
        }.value
        process.waitUntilExit()
        return (output, process.terminationStatus, listened)
    }

    @Test(.timeLimit(.minutes(2)))
    func serveAndValidateRefuseAHostilePackNamingTheFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-hostile-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, template) in [("a-good", "Q: {{prompt}}"), ("b-bomb", String(repeating: "{{prompt}} ", count: 100))] {
            let pack = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: pack, withIntermediateDirectories: true)
            let yaml = """
                name: \(name)
                version: 1.0.0
                description: d
                license: MIT
                source: tests
                tasks: tasks.jsonl
                prompt_template: "\(template)"
                reward:
                  verifier: math
                """
            try yaml.write(to: pack.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
            try #"{"id":"1","prompt":"p","answer":"1"}"#.write(
                to: pack.appendingPathComponent("tasks.jsonl"), atomically: true, encoding: .utf8)
        }
        try await FDGate.exclusive {
            for args in [
                ["serve", "--host", "127.0.0.1", "--port", "0", "--packs", dir.path],
                ["pack", "validate", "--no-run", "--packs", dir.path],
            ] {
                let result = try await Self.run(args)
                #expect(!result.listened, "\(args[0]) started with a hostile pack:\n\(result.output)")
                #expect(result.status == 1, "\(args): \(result.output)")
                #expect(
                    result.output.contains(
                        "b-bomb/pack.yaml:7: contains {{prompt}} 100 times, over the limit of 4 (each copy multiplies every prompt); refused"),
                    "\(args): \(result.output)")
            }
        }
    }
}
