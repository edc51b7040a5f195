import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// hummingbird-websocket's HTTP/1.1 + WebSocket child channel, with the guards plain HTTP has from the first
/// byte. Its upgrade pipeline installs the idle timeout and envrun's `RequestGuardHandler` only once the first
/// request head has been parsed, and a first head that does not parse leaves the connection open with no
/// answer. Added here, in front of it:
/// - the first request head must be complete within `headDeadline` (a silent, slow-header or trickling
///   connection would otherwise hold a connection slot forever);
/// - a first head that does not parse is answered with an empty 400 and the connection closed, as plain
///   HTTP does (Hummingbird answers later requests' framing errors itself).
/// From the first head on, the wrapped pipeline's own guards (idle timeout, body deadline) or the WebSocket
/// session's idle close take over.
struct GuardedUpgradeChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let inner: HTTP1WebSocketUpgradeChannel
    let headDeadline: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let front = FirstHeadGuard(deadline: headDeadline)
            try channel.pipeline.syncOperations.addHandler(front, position: .first)
            try channel.pipeline.syncOperations.addHandler(FirstHeadErrorCatcher(front: front), position: .last)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        // The wrapped channel logs a negotiation that failed before the first request (the client sent a
        // broken head, left, or missed the deadline: all the client's doing) at error level. The future is
        // not public; read it by reflection, and fall back to the wrapped channel's handling without it.
        if let negotiation = Mirror(reflecting: value).descendant("upgradeResult")
            as? EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>
        {
            do {
                _ = try await negotiation.get()
            } catch {
                logger.debug("connection closed before its first request", metadata: ["error": "\(error)"])
                try? await value.channel.close()
                return
            }
        }
        await inner.handle(value: value, logger: logger)
    }
}

/// The pipeline's first handler (next to the socket): closes the connection unless the first head's end
/// (the first blank line) has arrived by the deadline, and writes the raw 400 for `FirstHeadErrorCatcher`.
private final class FirstHeadGuard: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let deadlineAmount: TimeAmount
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// The last bytes seen, to find "\r\n\r\n" across reads; nil once found.
    private var tail: [UInt8]? = []
    private var rejected = false

    init(deadline: TimeAmount) { deadlineAmount = deadline }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: deadlineAmount) { loopBound.value.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if tail != nil {
            let bytes = tail! + unwrapInboundIn(data).readableBytesView
            if bytes.count >= 4, (0...(bytes.count - 4)).contains(where: { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) {
                tail = nil
                deadline?.cancel()
                deadline = nil
            } else {
                tail = Array(bytes.suffix(3))
            }
        }
        context.fireChannelRead(data)
    }

    /// Writes an empty 400 and closes.
    func rejectAndClose() {
        guard let context, !rejected else { return }
        rejected = true
        var buffer = context.channel.allocator.buffer(capacity: 80)
        buffer.writeString("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }
}

/// The pipeline's last handler at set-up: while the upgrade handler is still deciding (the first request),
/// an HTTP parse error is answered 400 through `FirstHeadGuard`; afterwards errors pass on.
private final class FirstHeadErrorCatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    private let front: FirstHeadGuard

    init(front: FirstHeadGuard) { self.front = front }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let deciding = (try? context.pipeline.syncOperations.context(
            handlerType: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)) != nil
        if deciding, error is HTTPParserError {
            front.rejectAndClose()
            return
        }
        context.fireErrorCaught(error)
    }
}
