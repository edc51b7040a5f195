import HummingbirdWebSocket
import NIOCore

/// Assembles WebSocket messages from their frames within the limits HTTP bodies have: at most `maxSize`
/// bytes a message, and every fragment taken from the server-wide body budget as it arrives (the library's
/// own assembly holds a whole message before anyone can count it). A message over either limit is read to
/// its end and dropped, so the session can answer and go on.
struct SocketMessages {
    enum Message {
        case text(String)
        case binary
        case invalidUTF8
        case tooLarge
        case overBudget
    }

    var frames: WebSocketInboundStream.AsyncIterator
    let maxSize: Int
    let budget: BodyBudget
    /// Budget bytes held by the last message returned; give them back with `release()` once it is handled.
    private(set) var held = 0

    init(_ inbound: WebSocketInboundStream, maxSize: Int, budget: BodyBudget) {
        frames = inbound.makeAsyncIterator()
        self.maxSize = maxSize
        self.budget = budget
    }

    mutating func release() {
        budget.release(held)
        held = 0
    }

    /// The next message, or nil when the socket closed. A continuation frame without a start is a protocol
    /// error: the connection is failed.
    mutating func next() async throws -> Message? {
        release()
        guard let first = try await frames.next() else { return nil }
        guard first.opcode != .continuation else { throw WebSocketClosed() }
        var buffer = ByteBuffer()
        var refused: Message?
        var frame = first
        while true {
            let n = frame.data.readableBytes
            if refused == nil {
                if buffer.readableBytes + n > maxSize {
                    refused = .tooLarge
                } else if !budget.reserve(n) {
                    refused = .overBudget
                } else {
                    held += n
                    var data = frame.data
                    buffer.writeBuffer(&data)
                }
                if refused != nil {
                    release()
                    buffer = ByteBuffer()
                }
            }
            if frame.fin { break }
            guard let more = try await frames.next() else { return nil }
            guard more.opcode == .continuation else { throw WebSocketClosed() }
            frame = more
        }
        if let refused { return refused }
        if first.opcode == .binary { return .binary }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else { return .invalidUTF8 }
        return .text(text)
    }

    struct WebSocketClosed: Error {}
}
