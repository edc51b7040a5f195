import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a loopback port, for what an HTTP client library hides: idle sockets,
/// half-sent heads and bodies, a client that leaves mid-request. Blocking calls with timeouts; one
/// connection per test step. Loopback only.
public final class RawConnection: @unchecked Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`, from the loopback address `source` when given (127.0.0.2 is a
    /// second client to the server); nil when the connection fails.
    public init?(port: Int, source: String? = nil) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(fd)
                return nil
            }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends all of `text`; false when the peer has closed.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until the peer closes, `until` appears in what was read, or `timeout` passes.
    /// `closed` is true when the peer closed (EOF or reset).
    public func read(timeout: Double, until marker: String? = nil) -> (text: String, closed: Bool) {
        var data: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return (String(decoding: data, as: UTF8.self), false) }
            let (chunk, closed) = readBytes(timeout: left)
            if closed { return (String(decoding: data, as: UTF8.self), true) }
            data += chunk
            if chunk.isEmpty { continue }
            if let marker, String(decoding: data, as: UTF8.self).contains(marker) {
                return (String(decoding: data, as: UTF8.self), false)
            }
        }
    }

    /// Whatever arrives within `timeout` (one read); `closed` when the peer closed.
    public func readBytes(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(max(1, timeout * 1000))) > 0 else { return ([], false) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n <= 0 ? ([], true) : (Array(buffer[0..<n]), false)
    }

    /// One complete response to a request with a Content-Length body: reads until the body is in.
    public func response(timeout: Double) -> (status: Int?, body: String, closed: Bool) {
        var (text, closed) = read(timeout: timeout, until: "\r\n\r\n")
        guard let headEnd = text.range(of: "\r\n\r\n") else { return (nil, text, closed) }
        let head = text[..<headEnd.lowerBound]
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while text.utf8.count - text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) < length && !closed {
            let more = read(timeout: timeout)
            text += more.text
            closed = more.closed
            if more.text.isEmpty { break }
        }
        return (status, String(text[headEnd.upperBound...]), closed)
    }

    /// A full HTTP/1.1 request with a JSON body; `headers` are extra lines such as "Authorization: …".
    public static func request(_ method: String, _ path: String, body: String? = nil, headers: [String] = []) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers.map { $0 + "\r\n" }.joined()
        if let body {
            text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            text += "\r\n"
        }
        return text
    }
}
