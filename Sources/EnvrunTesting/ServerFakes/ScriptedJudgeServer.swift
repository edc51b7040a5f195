import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A scripted OpenAI-compatible judge on a free loopback port, for the fault cases a real judge will not
/// produce on demand: malformed output then good, wrong counts, out-of-range scores, a judge slower than the
/// timeout, 500s, and a judge that always prefers the first position. Real HTTP, so the real client runs.
public final class ScriptedJudgeServer: Sendable {
    /// What one request is answered with.
    public enum Reply: Sendable {
        /// A completion with this text (and finish reason).
        case text(String, finish: String = "stop")
        /// An HTTP error status with a small body.
        case status(Int)
        /// Waits, then answers.
        indirect case delayed(Duration, Reply)
    }

    /// One request as the server saw it.
    public struct Seen: Sendable {
        public var body: [String: any Sendable]
        public var authorization: String?
        /// The responses of the prompt, in the order shown, read back from the response markers.
        public var responses: [String]
    }

    public typealias Script = @Sendable (_ index: Int, _ seen: Seen) -> Reply

    let script: Script
    let seenRequests = Mutex<[Seen]>([])
    let task = Mutex<Task<Void, Error>?>(nil)
    let portValue = Atomic<Int>(0)
    public var port: Int { portValue.load(ordering: .acquiring) }

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }
    public var requests: [Seen] { seenRequests.withLock { $0 } }

    init(script: @escaping Script) { self.script = script }

    /// Starts a server answering with `script`; stop it with `stop()`.
    public static func start(_ script: @escaping Script) async throws -> ScriptedJudgeServer {
        let server = ScriptedJudgeServer(script: script)
        try await server.run()
        return server
    }

    /// Runs `body` against a server that answers with `script`, then stops it.
    public static func with<T>(_ script: @escaping Script, _ body: (ScriptedJudgeServer) async throws -> T) async throws -> T {
        let server = try await start(script)
        defer { server.stop() }
        return try await body(server)
    }

    public func stop() { task.withLock { $0?.cancel() } }

    func run() async throws {
        let router = Router()
        router.get("/v1/models") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"object":"list","data":[{"id":"scripted"}]}"#)))
        }
        router.post("/v1/chat/completions") { [self] request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
            let seen = Seen(
                body: object.compactMapValues { Self.sendable($0) },
                authorization: request.headers[.authorization],
                responses: Self.responses(in: object))
            let index = seenRequests.withLock { list in
                list.append(seen)
                return list.count - 1
            }
            return try await Self.answer(script(index, seen))
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: { var l = Logger(label: "scripted-judge"); l.logLevel = .critical; return l }())
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for await p in stream {
            portValue.store(p, ordering: .releasing)
            break
        }
    }

    static func answer(_ reply: Reply) async throws -> Response {
        switch reply {
        case .delayed(let wait, let then):
            try await Task.sleep(for: wait)
            return try await answer(then)
        case .status(let code):
            return Response(
                status: .init(code: code), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"scripted failure"}}"#)))
        case .text(let text, let finish):
            let object: [String: Any] = [
                "id": "scripted", "object": "chat.completion", "model": "scripted",
                "choices": [["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": finish]],
            ]
            let data = try JSONSerialization.data(withJSONObject: object)
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    /// The text between `[The Begin of Response i]` and `[The End of Response i]` markers of the last message.
    static func responses(in object: [String: Any]) -> [String] {
        guard let messages = object["messages"] as? [[String: Any]], let last = messages.last?["content"] as? String
        else { return [] }
        var out: [String] = []
        var rest = last[...]
        var i = 1
        while let open = rest.range(of: "[The Begin of Response \(i)]\n"),
            let close = rest[open.upperBound...].range(of: "\n[The End of Response \(i)]")
        {
            out.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
            i += 1
        }
        return out
    }

    static func sendable(_ any: Any) -> (any Sendable)? {
        switch any {
        case let s as String: return s
        case let n as NSNumber: return n.doubleValue
        case let a as [Any]: return a.compactMap { sendable($0) }.map { "\($0)" }
        case let d as [String: Any]: return d.compactMapValues { sendable($0).map { "\($0)" } }
        default: return nil
        }
    }

    /// A well-formed DeepSeek-GRM output with these scores.
    public static func verdict(_ scores: [Int], criteria: String = "helpfulness (70%), accuracy (30%)") -> String {
        "Specific Criteria: \(criteria).\nAnalysis: each response was read against the criteria.\n"
            + "Scores: \\boxed{\(scores.map(String.init).joined(separator: ", "))}"
    }
}
