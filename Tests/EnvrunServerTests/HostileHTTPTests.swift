import AsyncHTTPClient
import EnvrunCore
import EnvrunServer
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Broken HTTP on raw loopback sockets against the real `envrun serve`: an aborted body, bad chunked
/// encoding, a garbage request line, oversized headers and more. None may answer 5xx or log at error level
/// (a client's fault is not ours), and the server keeps serving after each.
@Suite("hostile HTTP: broken framing on raw sockets", .serialized,
       .enabled(if: ServerProcess.binary != nil, "the envrun binary is not built (swift build)"))
struct HostileHTTPTests {
    /// How the client ends its side after sending: close (FIN) or reset (RST) at once, half-close and read
    /// (the server takes that as the client leaving: it closes without an answer), or keep it open and read
    /// the answer.
    enum Ending: Sendable { case close, reset, halfClose, keepOpen }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let ending: Ending
        /// With `keepOpen`: the JSON error code of the 400 when the body broke (ours); nil when the head broke,
        /// which Hummingbird answers with an empty 400 before any route runs.
        var code: String? = nil
        var testDescription: String { name }
    }

    static func post(_ headers: String, _ body: String) -> [UInt8] {
        Array("POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(headers)\r\n\(body)".utf8)
    }

    static let cases: [Case] = {
        var rng = SplitMix64(seed: 0xBAD_4775)
        let garbage = (0..<512).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return [
            Case(name: "an aborted body (Content-Length 1000, 10 bytes sent, then close)",
                 bytes: post("Content-Length: 1000\r\n", #"{"items":["#), ending: .close),
            Case(name: "an aborted body, half-closed",
                 bytes: post("Content-Length: 1000\r\n", #"{"items":["#), ending: .halfClose),
            Case(name: "an aborted body, then a reset (RST)",
                 bytes: post("Content-Length: 1000\r\n", #"{"items":["#), ending: .reset),
            Case(name: "a bad chunk size",
                 bytes: post("Transfer-Encoding: chunked\r\n", "zz\r\n{\"items\"\r\n0\r\n\r\n"), ending: .keepOpen, code: "body_incomplete"),
            Case(name: "a bad chunk size after a good chunk",
                 bytes: post("Transfer-Encoding: chunked\r\n", "5\r\n{\"ite\r\nQQ\r\nms\":[]}\r\n0\r\n\r\n"), ending: .keepOpen, code: "body_incomplete"),
            Case(name: "a chunked body cut short, half-closed",
                 bytes: post("Transfer-Encoding: chunked\r\n", "100\r\n{\"items\":"), ending: .halfClose),
            Case(name: "a chunked body cut short, then close",
                 bytes: post("Transfer-Encoding: chunked\r\n", "100\r\n{\"items\":"), ending: .close),
            Case(name: "a garbage request line", bytes: Array("GARBAGE\r\n\r\n".utf8), ending: .keepOpen),
            Case(name: "512 random bytes", bytes: garbage, ending: .keepOpen),
            Case(name: "an unknown HTTP version", bytes: Array("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".utf8), ending: .keepOpen),
            Case(name: "headers of 100 KB",
                 bytes: Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n".utf8),
                 ending: .keepOpen),
            Case(name: "5 000 headers",
                 bytes: Array(("GET /healthz HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-H: v\r\n", count: 5000) + "\r\n").utf8),
                 ending: .keepOpen),
            Case(name: "a 100 KB path",
                 bytes: Array("GET /\(String(repeating: "p", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8), ending: .keepOpen),
            Case(name: "Content-Length not a number", bytes: post("Content-Length: abc\r\n", "{}"), ending: .keepOpen),
            Case(name: "a negative Content-Length", bytes: post("Content-Length: -5\r\n", "{}"), ending: .keepOpen),
            Case(name: "Content-Length and chunked together",
                 bytes: post("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n"), ending: .keepOpen),
            Case(name: "two different Content-Lengths", bytes: post("Content-Length: 2\r\nContent-Length: 3\r\n", "{}"), ending: .keepOpen),
            Case(name: "a NUL in a header value", bytes: Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n".utf8), ending: .keepOpen),
            Case(name: "cut inside the headers, half-closed", bytes: Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Le".utf8), ending: .halfClose),
            Case(name: "cut inside the headers, then close", bytes: Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Le".utf8), ending: .close),
        ]
    }()

    @Test("each broken request: no 5xx, no error-level log line, and the server keeps serving")
    func brokenFraming() async throws {
        try await ServerProcess.withRunning { server, http in
            let port = try #require(Int(server.url.split(separator: ":").last!))
            for c in Self.cases {
                let answer = try await Task.detached { try RawSocket.exchange(port: port, c.bytes, ending: c.ending) }.value
                if c.ending == .keepOpen {
                    // Every broken request is answered 400, and the connection closed.
                    #expect(RawSocket.status(answer) == 400, "\(c.name): \(answer.prefix(300))")
                    let body = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
                    let detail = try? JSONDecoder().decode(APIError.ErrorBody.self, from: Data(body.utf8)).error
                    #expect(detail?.code == c.code, "\(c.name): \(answer.prefix(300))")
                } else if let status = RawSocket.status(answer) {
                    #expect(status < 500, "\(c.name): \(answer.prefix(300))")
                }
                let health = try await http.get(url: "\(server.url)/healthz").get()
                #expect(health.status.code == 200, "healthz after \(c.name)")
            }
            // The log is read by a thread: give it a moment to catch up, then no line may be an error.
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.errorLines.isEmpty, "error-level log lines:\n\(server.errorLines.joined(separator: "\n"))")
            let metrics = try await http.get(url: "\(server.url)/metrics").get()
            let text = metrics.body.map { String(buffer: $0) } ?? ""
            let fiveHundreds = text.split(separator: "\n").filter { $0.hasPrefix("envrun_http_requests_total") && $0.contains("status=\"5") }
            #expect(fiveHundreds.isEmpty, "5xx answers counted: \(fiveHundreds)")
        }
    }
}

/// One blocking TCP exchange on loopback, with 5 s send and receive timeouts.
enum RawSocket {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Connects, sends `bytes` (a send the server cut short is not an error), then closes (with a FIN or an
    /// RST; returns "") or reads, half-closed or not, until the server closes or 5 s pass.
    static func exchange(port: Int, _ bytes: [UInt8], ending: HostileHTTPTests.Ending) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect: errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        if ending == .reset {
            // SO_LINGER 0: close sends RST instead of FIN.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        if ending == .close || ending == .reset {
            // Give the server a moment to read what was sent before the connection goes.
            usleep(50_000)
            return ""
        }
        if ending == .halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// The status code of the first response in `answer`, if it starts with one.
    static func status(_ answer: String) -> Int? {
        guard answer.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(answer.dropFirst(9).prefix(3))
    }
}
