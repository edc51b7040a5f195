import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client over `RawConnection`, for what a client library hides: a socket that never answers a
/// close frame, frames sent at chosen moments. Text frames only; loopback only.
public final class RawWebSocket: @unchecked Sendable {
    public let connection: RawConnection
    private var pending: [UInt8] = []

    /// Connects and upgrades at `path`; nil when the connection or the upgrade (101) fails.
    public init?(port: Int, path: String, headers: [String] = []) {
        guard let connection = RawConnection(port: port) else { return nil }
        self.connection = connection
        let head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        guard connection.send(head) else { return nil }
        var bytes: [UInt8] = []
        // Generous: the whole suite runs in parallel on two cores.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let (chunk, closed) = connection.readBytes(timeout: 0.2)
            bytes += chunk
            if let end = Self.find([13, 10, 13, 10], in: bytes) {
                guard String(decoding: bytes[..<end], as: UTF8.self).hasPrefix("HTTP/1.1 101") else { return nil }
                pending = Array(bytes[(end + 4)...])
                return
            }
            if closed { return nil }
        }
        return nil
    }

    /// Sends one masked text frame; false when the peer has closed.
    @discardableResult
    public func send(text: String) -> Bool { send(frame: Array(text.utf8), opcode: 0x1, fin: true) }

    /// Sends one masked frame: opcode 0x1 text, 0x0 continuation; `fin` false leaves the message open.
    @discardableResult
    public func send(frame payload: [UInt8], opcode: UInt8, fin: Bool) -> Bool {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default: frame += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return connection.send(frame)
    }

    public enum Frame: Equatable, Sendable {
        case text(String)
        case close
        case other(UInt8)
    }

    /// The next frame from the server (pings skipped), or nil when `timeout` passes or the peer closes.
    public func next(timeout: Double) -> Frame? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let (frame, used) = Self.parse(pending) {
                pending.removeFirst(used)
                if case .other(0x9) = frame { continue }
                return frame
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            let (chunk, closed) = connection.readBytes(timeout: min(left, 0.2))
            pending += chunk
            if closed && chunk.isEmpty && Self.parse(pending) == nil { return nil }
        }
    }

    /// True when the server drops the connection within `timeout`. A server that has sent its close frame
    /// has also finished its side (a FIN) but may still be reading; dropped means it no longer reads: a
    /// ping sent then is answered with a reset. Frames from the server are read and ignored; no close
    /// frame is ever answered.
    public func closedByServer(within timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let ping: [UInt8] = [0x89, 0x80, 1, 2, 3, 4]
        while deadline.timeIntervalSinceNow > 0 {
            var pfd = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) > 0 {
                var buffer = [UInt8](repeating: 0, count: 65536)
                let n = recv(connection.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n < 0 && (errno == ECONNRESET || errno == EPIPE) { return true }
                if n > 0 { continue }
            }
            if !connection.send(ping) { return true }
        }
        return false
    }

    static func parse(_ bytes: [UInt8]) -> (Frame, Int)? {
        guard bytes.count >= 2 else { return nil }
        let opcode = bytes[0] & 0x0f
        var length = Int(bytes[1] & 0x7f)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        let payload = bytes[offset..<(offset + length)]
        switch opcode {
        case 0x1: return (.text(String(decoding: payload, as: UTF8.self)), offset + length)
        case 0x8: return (.close, offset + length)
        default: return (.other(opcode), offset + length)
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
