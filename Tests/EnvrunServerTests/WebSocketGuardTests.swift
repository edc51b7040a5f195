import EnvrunCore
import EnvrunServer
import EnvrunTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// OpenEnv's WebSocket sessions (on by default) on raw sockets: a connection is guarded before its first
/// request as plain HTTP is, a session that stops talking loses its connection, and a message is decoded
/// within the body budget.
@Suite("WebSocket sessions: guards on raw sockets", .serialized)
struct WebSocketGuardTests {
    @Test("a first request head trickled a byte at a time is cut off at the head deadline")
    func trickledHead() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { c in c.idleTimeoutSeconds = 0.5 }) { port in
            let trickle = try #require(RawConnection(port: port))
            let cut = await offPool { () -> Bool in
                // One byte each 100 ms keeps a read-idle timer from firing; 40 bytes take 4 s.
                for byte in "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8 {
                    if !trickle.send([byte]) { return true }
                    if trickle.read(timeout: 0.1).closed { return true }
                }
                return false
            }
            #expect(cut, "a head trickled for 4 s was not cut off (deadline 0.5 s)")
            let fresh = try #require(RawConnection(port: port))
            fresh.send(RawConnection.request("GET", "/healthz"))
            #expect(await offPool { fresh.response(timeout: 5).status } == 200)
        }
    }

    @Test("a session that never answers the idle close frame loses its connection")
    func silentSessionDisconnected() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { c in c.sessionIdleSeconds = 0.5 }) { port in
            let socket = try #require(RawWebSocket(port: port, path: "/openenv/fake-math/ws"))
            let frame = await offPool { socket.next(timeout: 5) }
            #expect(frame == .close, "no close frame after the idle time: \(String(describing: frame))")
            // The client never answers the close frame; the server drops the connection after its grace.
            #expect(await offPool { socket.closedByServer(within: 6) }, "the silent socket was never disconnected")
        }
    }

    @Test("past max_sessions, a socket that sends nothing is disconnected and the slot holder keeps its session")
    func silentSocketOverCapacity() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { c in
            c.maxSessions = 1
            c.sessionIdleSeconds = 2
        }) { port in
            let holder = try #require(RawWebSocket(port: port, path: "/openenv/fake-math/ws"))
            holder.send(text: #"{"type":"reset","data":{"task_id":"3"}}"#)
            let reset = try await nextText(holder, after: "reset")
            #expect(reset.contains("\"observation\""), "\(reset)")
            let extra = try #require(RawWebSocket(port: port, path: "/openenv/fake-math/ws"))
            // The holder stays active (a state message every 0.5 s) while the extra socket waits.
            let dropped = await offPool { () -> Bool in
                for _ in 0..<16 {
                    if extra.closedByServer(within: 0.5) { return true }
                    holder.send(text: #"{"type":"state"}"#)
                    _ = holder.next(timeout: 2)
                }
                return false
            }
            #expect(dropped, "a silent socket past capacity was never disconnected")
            holder.send(text: #"{"type":"step","data":{"response":"9"}}"#)
            let step = try await nextText(holder, after: "step")
            #expect(step.contains("\"reward\":1"), "\(step)")
        }
    }

    @Test("messages are checked like bodies: deep nesting is INVALID_JSON, past the budget CAPACITY_REACHED")
    func messagesWithinBudget() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { c in
            c.maxBodyBytes = 256 * 1024
            c.bodyBudgetBytes = 256 * 1024
            c.bodyTimeoutSeconds = 10
        }) { port in
            let socket = try #require(RawWebSocket(port: port, path: "/openenv/fake-math/ws"))
            let deep = #"{"type":"reset","data":{"x":"# + String(repeating: "[", count: 5000)
                + String(repeating: "]", count: 5000) + "}}"
            socket.send(text: deep)
            let nested = try await nextText(socket, after: "a deeply nested message")
            #expect(nested.contains("INVALID_JSON") && nested.contains("deeper"), "\(nested.prefix(300))")

            // An HTTP client holds 200 KiB of the budget with a stalled body; a 100 KiB message does not fit.
            let holder = try #require(RawConnection.stalledBody(port: port, sent: 200 * 1024))
            try await Task.sleep(for: .milliseconds(200))
            let big = #"{"type":"step","data":{"response":""# + String(repeating: "7", count: 100 * 1024) + #""}}"#
            socket.send(text: big)
            let refused = try await nextText(socket, after: "a message past the budget")
            #expect(refused.contains("CAPACITY_REACHED"), "\(refused.prefix(300))")
            close(holder.fd)
            try await Task.sleep(for: .milliseconds(200))
            socket.send(text: #"{"type":"reset","data":{"task_id":"2"}}"#)
            let reset = try await nextText(socket, after: "reset after the budget came back")
            #expect(reset.contains("\"observation\""), "\(reset.prefix(300))")
        }
    }

    @Test("blank lines before the first head, or an upgrade head whose declared body never comes, do not stop the deadline")
    func deadlineNotFooled() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { c in
            c.idleTimeoutSeconds = 0.5
            c.bodyTimeoutSeconds = 30
        }) { port in
            let blank = try #require(RawConnection(port: port))
            blank.send("\r\n\r\n\r\n")
            let upgrade = try #require(RawConnection(port: port))
            upgrade.send("GET /openenv/fake-math/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Content-Length: 10\r\n\r\n")
            for (name, c) in [("blank lines", blank), ("upgrade with a body", upgrade)] {
                let closed = await offPool { c.read(timeout: 5).closed }
                #expect(closed, "\(name): the connection outlived the first-head deadline")
            }
        }
    }

    @Test("a request asking to upgrade to something else (h2c) is served as plain HTTP/1.1")
    func otherUpgradeServed() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { _ in }) { port in
            let c = try #require(RawConnection(port: port))
            c.send(RawConnection.request("GET", "/healthz", headers: [
                "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA"]))
            let r = await offPool { c.response(timeout: 5) }
            #expect(r.status == 200, "got \(String(describing: r.status)): \(r.body.prefix(200))")
        }
    }

    @Test("fragments are held in the body budget as they arrive; an over-long message is refused and the session goes on")
    func fragmentsCounted() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { c in
            c.maxBodyBytes = 256 * 1024
            c.bodyBudgetBytes = 256 * 1024
        }) { port in
            let socket = try #require(RawWebSocket(port: port, path: "/openenv/fake-math/ws"))
            // 200 KiB of an unfinished message: the budget has 56 KiB left, so a 100 KiB body is refused.
            let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 50 * 1024)
            socket.send(frame: Array(#"{"type":"step","data":{"response":"7"}}"#.utf8), opcode: 0x1, fin: false)
            for _ in 0..<4 { socket.send(frame: chunk, opcode: 0x0, fin: false) }
            try await Task.sleep(for: .milliseconds(300))
            let body = #"{"items":[{"pack":"fake-math","task_id":"1","response":""# + String(repeating: "7", count: 100 * 1024) + #""}]}"#
            let http = try #require(RawConnection(port: port))
            http.send(RawConnection.request("POST", "/v1/score", body: body))
            #expect(await offPool { http.response(timeout: 5).status } == 429, "the unfinished message held no budget")
            // Two more fragments take the message past max_body_bytes: refused when it ends, not buffered.
            for _ in 0..<2 { socket.send(frame: chunk, opcode: 0x0, fin: false) }
            socket.send(frame: [], opcode: 0x0, fin: true)
            let refused = try await nextText(socket, after: "an over-long message")
            #expect(refused.contains("VALIDATION_ERROR") && refused.contains("max_body_bytes"), "\(refused.prefix(300))")
            let again = try #require(RawConnection(port: port))
            again.send(RawConnection.request("POST", "/v1/score", body: body))
            #expect(await offPool { again.response(timeout: 5).status } == 200, "the budget was not given back")
            socket.send(text: #"{"type":"reset","data":{"task_id":"2"}}"#)
            let reset = try await nextText(socket, after: "reset after the refused message")
            #expect(reset.contains("\"observation\""), "\(reset.prefix(300))")
        }
    }

    @Test("a message with a huge array is refused before it is decoded")
    func longArrayRefused() async throws {
        try await withLiveApp(environment: FakeEnvironment(), { _ in }) { port in
            let socket = try #require(RawWebSocket(port: port, path: "/openenv/fake-math/ws"))
            let pad = Array(repeating: "0", count: 20_000).joined(separator: ",")
            socket.send(text: #"{"type":"step","data":{"response":"1","pad":["# + pad + "]}}")
            let reply = try await nextText(socket, after: "a message with a huge array")
            #expect(reply.contains("INVALID_JSON") && reply.contains("10000 values"), "\(reply.prefix(300))")
        }
    }
}

struct NoReply: Error, CustomStringConvertible { let description: String }

/// The next text frame from the server (5 s at most), or an error naming what went unanswered.
func nextText(_ socket: RawWebSocket, after what: String) async throws -> String {
    let frame = await offPool { socket.next(timeout: 5) }
    guard case .text(let text)? = frame else { throw NoReply(description: "no reply to \(what): \(String(describing: frame))") }
    return text
}
