import EnvrunCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An `envrun serve` child of `envrun bench load` on 127.0.0.1 with `--port 0`: started from the same
/// executable, its log read line by line (the start line gives the port; warning and error lines are
/// counted), stopped with SIGTERM.
public final class ServeChild: @unchecked Sendable {
    public let url: String
    public let pid: Int32
    private let process: Process
    private let log: LogBox
    /// Only touched by the log reader thread.
    private let logFile: FileHandleBox?

    private init(process: Process, url: String, log: LogBox, logFile: FileHandleBox?) {
        self.process = process
        self.url = url
        self.pid = process.processIdentifier
        self.log = log
        self.logFile = logFile
    }

    /// This process's executable (`/proc/self/exe`).
    public static var ownExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts `executable serve --host 127.0.0.1 --port 0 [--packs DIR] EXTRA…` and returns once it logs
    /// its start line; throws with the log when it exits first or says nothing for `timeout` seconds.
    /// `logPath`: where to write the whole log (nil: only counted).
    public static func start(executable: String = ownExecutable, packs: String?, extra: [String], logPath: String?,
                             timeout: Double = 120) async throws -> ServeChild
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0"] + (packs.map { ["--packs", $0] } ?? []) + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        var file: FileHandleBox?
        if let logPath {
            guard FileManager.default.createFile(atPath: logPath, contents: nil),
                  let handle = FileHandle(forWritingAtPath: logPath)
            else { throw EnvrunError(.io, "cannot write the server log \(logPath)", field: "server-log") }
            file = FileHandleBox(handle)
        }
        do {
            try process.run()
        } catch {
            throw EnvrunError(.io, "cannot start \(executable) serve: \(error)", field: "executable")
        }
        let log = LogBox()
        let (ports, continuation) = AsyncStream.makeStream(of: String?.self)
        let reader = pipe.fileHandleForReading
        let box = file
        // Blocking reads off the cooperative pool for the child's whole life, so it never blocks on a full pipe.
        Thread.detachNewThread {
            var buffer = Data(), found = false
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                box?.handle.write(chunk)
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    if !found {
                        log.state.withLock { if $0.head.count < 40 { $0.head.append(String(line.prefix(400))) } }
                        if line.contains("listening"), let r = line.range(of: "http://127.0.0.1:") {
                            let port = line[r.upperBound...].prefix(while: \.isNumber)
                            if !port.isEmpty {
                                found = true
                                continuation.yield("http://127.0.0.1:\(port)")
                            }
                        }
                    }
                    if Self.isWarning(line) {
                        log.state.withLock { l in
                            l.warnings += 1
                            l.tail.append(String(line.prefix(400)))
                            if l.tail.count > 12 { l.tail.removeFirst() }
                        }
                    }
                }
            }
            if !found { continuation.yield(nil) }
            continuation.finish()
        }
        let waiter = Task {
            var it = ports.makeAsyncIterator()
            return await it.next() ?? nil
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            waiter.cancel()
        }
        let url = await waiter.value
        watchdog.cancel()
        guard let url else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let head = log.state.withLock { $0.head }.joined(separator: "\n")
            throw EnvrunError(.internal, "envrun serve exited (\(process.terminationStatus)) or did not start:\n\(head)",
                              field: "serve")
        }
        live.withLock { _ = $0.insert(process.processIdentifier) }
        return ServeChild(process: process, url: url, log: log, logFile: file)
    }

    /// Pids of the children started and not stopped yet.
    private static let live = Mutex<Set<Int32>>([])

    /// SIGTERM to every child still running (for a SIGINT handler of the bench: no server is left behind).
    public static func terminateAll() {
        for pid in live.withLock({ $0 }) { kill(pid, SIGTERM) }
    }

    /// A log line at warning level or above (swift-log's stream handler writes the level as a word).
    static func isWarning(_ line: String) -> Bool {
        line.contains(" warning ") || line.contains(" error ") || line.contains(" critical ")
    }

    public var isRunning: Bool { process.isRunning }

    /// Warning and error lines of the log so far, and the last few of them.
    public var logSummary: (warnings: Int, tail: [String]) { log.state.withLock { ($0.warnings, $0.tail) } }

    /// SIGTERM, then up to `timeout` seconds for the exit, then SIGKILL. Returns the exit status
    /// (nil when it had to be killed).
    @discardableResult
    public func stop(timeout: Double = 30) -> Int32? {
        defer { _ = Self.live.withLock { $0.remove(pid) } }
        if process.isRunning { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

final class LogBox: Sendable {
    let state = Mutex(LogState())
}

struct LogState {
    var warnings = 0
    var tail: [String] = []
    /// The lines before the start line (shown when the server does not start).
    var head: [String] = []
}

/// A FileHandle written from one thread only.
final class FileHandleBox: @unchecked Sendable {
    let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }
}
