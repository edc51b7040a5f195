import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenAI-compatible judge server for tests and the demo: llama-cpp-python's `llama_cpp.server` serving
/// SmolLM2-135M-Instruct (Q4_1 GGUF) on a free loopback port, as installed by `scripts/setup.d/judge.sh` into
/// `.cache/judge/` of the checkout. One request at a time (the server serialises them); `n` is ignored.
/// The child is stopped by `stop()`, by `deinit`, and (through a watcher thread in the child) within about a
/// second of this process dying. Its stdout and stderr go to `logPath` under /tmp.
public final class LlamaJudgeServer: @unchecked Sendable {
    /// Where the venv and the model are.
    public struct Files: Sendable, Equatable {
        /// The venv's python, reached through the venv's own `bin/` (so Python finds its pyvenv.cfg).
        public let python: URL
        public let model: URL
    }

    /// The OpenAI base URL, `http://127.0.0.1:PORT/v1`.
    public let baseURL: URL
    public let port: Int
    /// The model name the server answers to (`/v1/models` lists it; requests may name any model).
    public let modelName: String
    public let logPath: String
    /// Seconds from spawn to the first answer of `GET /v1/models`.
    public let startupSeconds: Double
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    /// `.cache/judge/venv/bin/python` and `.cache/judge/model.gguf` of the checkout (found from the working
    /// directory or the test binary upwards), or `ENVRUN_JUDGE_PYTHON` / `ENVRUN_JUDGE_MODEL` when set.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> Files? {
        let fm = FileManager.default
        func found(_ relative: String, _ override: String?, executable: Bool) -> URL? {
            if let override, !override.isEmpty {
                let ok = executable ? fm.isExecutableFile(atPath: override) : fm.isReadableFile(atPath: override)
                return ok ? URL(fileURLWithPath: override) : nil
            }
            return RepositoryLocator.find(relative) { url in
                executable ? fm.isExecutableFile(atPath: url.path) : fm.isReadableFile(atPath: url.path)
            }
        }
        guard let python = found(".cache/judge/venv/bin/python", environment["ENVRUN_JUDGE_PYTHON"], executable: true),
              let model = found(".cache/judge/model.gguf", environment["ENVRUN_JUDGE_MODEL"], executable: false)
        else { return nil }
        return Files(python: python, model: model)
    }

    /// nil when the judge server is installed, else why a test that needs it should skip.
    public static func availability() -> String? {
        locate() == nil
            ? "the judge server is not installed (.cache/judge/venv, .cache/judge/model.gguf): run scripts/setup.sh"
            : nil
    }

    /// Starts the server and waits (at most `timeout` seconds) until `GET /v1/models` answers 200.
    /// `threads` and `contextSize` are llama.cpp's `--n_threads` and `--n_ctx`.
    public static func start(
        threads: Int = 2, contextSize: Int = 4096, timeout: Double = 60, files: Files? = nil
    ) async throws -> LlamaJudgeServer {
        guard let files = files ?? locate() else {
            throw EnvrunError(.unavailable, availability() ?? "the judge server is not installed")
        }
        var lastError: Error?
        for _ in 0..<3 {  // a port taken between the probe and the server's bind: try another one
            let port = try freeLoopbackPort()
            do {
                return try await launch(files: files, port: port, threads: threads, contextSize: contextSize,
                                        timeout: timeout)
            } catch let error as EnvrunError where error.code == .io {
                lastError = error
            }
        }
        throw lastError ?? EnvrunError(.internal, "the judge server did not start")
    }

    // The child runs this: SIGTERM unblocked and at its default (a child inherits the parent's mask and ignored
    // signals), an exit when its parent (this process) goes, then the server module.
    private static let bootstrap = """
        import os, runpy, signal, sys, threading, time
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        parent = os.getppid()
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        sys.argv = ["llama_cpp.server"] + sys.argv[1:]
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
        """

    private static func launch(
        files: Files, port: Int, threads: Int, contextSize: Int, timeout: Double
    ) async throws -> LlamaJudgeServer {
        let modelName = "smollm2-135m-instruct"
        let logPath = "/tmp/envrun-judge-\(getpid())-\(port).log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
              let log = FileHandle(forWritingAtPath: logPath)
        else { throw EnvrunError(.internal, "cannot create the judge server log", field: logPath) }
        let process = Process()
        process.executableURL = files.python
        process.arguments = [
            "-c", bootstrap,
            "--model", files.model.path, "--model_alias", modelName,
            "--host", "127.0.0.1", "--port", String(port),
            "--n_ctx", String(contextSize), "--n_threads", String(threads), "--n_threads_batch", String(threads),
        ]  // no --chat_format: the GGUF's own (ChatML) template is used
        var env = ProcessInfo.processInfo.environment
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        let spawned = Date()
        do {
            try process.run()
        } catch {
            try? log.close()
            throw EnvrunError(.internal, "cannot start \(files.python.path): \(error)")
        }
        try? log.close()
        let deadline = spawned.addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                let tail = String((try? String(contentsOfFile: logPath, encoding: .utf8))?.suffix(1500) ?? "")
                let code: EnvrunError.Code = tail.contains("address already in use") ? .io : .unavailable
                throw EnvrunError(code, "the judge server exited (\(process.terminationStatus)) before answering:\n\(tail)",
                                  field: logPath)
            }
            if modelsAnswer(port: port) {
                return LlamaJudgeServer(
                    process: process, port: port, modelName: modelName, logPath: logPath,
                    startupSeconds: Date().timeIntervalSince(spawned))
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        terminate(process)
        throw EnvrunError(.unavailable, "the judge server did not answer GET /v1/models within \(Int(timeout)) s",
                          field: logPath)
    }

    private init(process: Process, port: Int, modelName: String, logPath: String, startupSeconds: Double) {
        self.process = process
        self.port = port
        self.modelName = modelName
        self.logPath = logPath
        self.startupSeconds = startupSeconds
        self.baseURL = URL(string: "http://127.0.0.1:\(port)/v1")!
    }

    deinit { stop() }

    /// SIGTERM, then SIGKILL after 5 s; waits for the child. Safe to call more than once.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { Self.terminate(process) }
    }

    private static func terminate(_ process: Process) {
        let pid = process.processIdentifier
        guard process.isRunning, pid > 0 else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        for _ in 0..<250 where process.isRunning { usleep(20_000) }
    }

    /// The whole log the server wrote so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// True when `GET /v1/models` answers 200 on 127.0.0.1:`port`.
    public static func modelsAnswer(port: Int) -> Bool {
        guard let connection = RawConnection(port: port) else { return false }
        guard connection.send(RawConnection.request("GET", "/v1/models", headers: ["Connection: close"])) else {
            return false
        }
        return connection.response(timeout: 2).status == 200
    }

    /// A loopback port nothing listens on now (bound to port 0, read back, closed).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EnvrunError(.internal, "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw EnvrunError(.internal, "bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
