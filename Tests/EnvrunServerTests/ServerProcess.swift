import AsyncHTTPClient
import EnvrunTesting
import Foundation
import Testing

/// The `envrun serve` child process of the end-to-end test.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let url: String
    private let logLock = NSLock()
    private var logBytes = Data()

    private init(process: Process, url: String, log: String) {
        self.process = process
        self.url = url
        self.logBytes = Data(log.utf8)
    }

    /// Everything the server wrote to stdout and stderr so far (its log).
    var log: String { logLock.withLock { String(decoding: logBytes, as: UTF8.self) } }

    /// The log lines at error level or above (swift-log's stream handler writes `<time> <level> <label>: …`).
    var errorLines: [String] {
        log.split(separator: "\n").map(String.init).filter { line in
            let words = line.split(separator: " ", maxSplits: 2)
            return words.count > 1 && (words[1] == "error" || words[1] == "critical")
        }
    }

    /// The package root, from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `envrun` binary next to the test bundle (same build dir), or `ENVRUN_BINARY`.
    static let binary: String? = {
        if let explicit = ProcessInfo.processInfo.environment["ENVRUN_BINARY"] { return explicit }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            dir.deleteLastPathComponent()
            let candidate = dir.appendingPathComponent("envrun").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Starts `envrun serve --port 0` and waits for its start line. Returns nil (with a printed reason)
    /// only when this build's binary cannot serve at all yet.
    static func start(extra: [String] = []) async throws -> ServerProcess? {
        let binary = try #require(binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--packs", root + "/Tasks"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        let logs = Pipe()
        process.standardError = logs
        process.standardOutput = logs
        try process.run()
        let handle = logs.fileHandleForReading
        // Blocking reads of the child's log, off the cooperative pool, until the start line or EOF.
        let (seen, url) = await Task.detached { () -> (String, String?) in
            var seen = ""
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return (seen, nil) }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    seen += line + "\n"
                    if line.contains("listening"), let start = line.range(of: "http://127.0.0.1:") {
                        let port = line[start.upperBound...].prefix(while: \.isNumber)
                        if !port.isEmpty { return (seen + String(decoding: buffer, as: UTF8.self), "http://127.0.0.1:\(port)") }
                    }
                }
            }
        }.value
        if let url {
            // Keep draining the logs (kept for `log`) so the child never blocks on a full pipe.
            let server = ServerProcess(process: process, url: url, log: seen)
            Thread.detachNewThread {
                while case let chunk = handle.availableData, !chunk.isEmpty {
                    server.logLock.withLock { server.logBytes.append(chunk) }
                }
            }
            return server
        }
        process.waitUntilExit()
        if seen.contains("this build lacks") {
            print("end-to-end test skipped: \(seen)")
            return nil
        }
        Issue.record("envrun serve exited (\(process.terminationStatus)) before listening:\n\(seen)")
        return nil
    }

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

extension ServerProcess {
    /// Starts `envrun serve` (with `extra` flags), runs `body` with an HTTP client, then stops both and
    /// expects a clean exit; one test at a time (`FDGate`: the client and the child's pipes are this
    /// process's fds). `nested`: already inside another `withRunning`, which holds the gate.
    static func withRunning(
        extra: [String] = [], nested: Bool = false, _ body: (ServerProcess, HTTPClient) async throws -> Void
    ) async throws {
        if nested { try await running(extra: extra, body) } else { try await FDGate.exclusive { try await running(extra: extra, body) } }
    }

    private static func running(extra: [String], _ body: (ServerProcess, HTTPClient) async throws -> Void) async throws {
        guard let server = try await start(extra: extra) else { return }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(server, http)
        } catch {
            try? await http.shutdown()
            server.stop()
            throw error
        }
        try await http.shutdown()
        #expect(server.stop() == 0, "envrun serve should exit 0 after SIGTERM")
    }
}
