import Foundation
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// hummingbird-websocket's HTTP/1.1 + WebSocket child channel, with the guards plain HTTP has from the first
/// byte. Its upgrade pipeline installs the idle timeout and envrun's `RequestGuardHandler` only once the first
/// request has been decided, and a first head that does not parse leaves the connection open with no answer.
/// Added here, around it:
/// - the first request must be decided (an upgrade, or a plain request read) within `headDeadline`: a
///   silent, slow-header or trickling connection would otherwise hold a connection slot forever;
/// - a first head that does not parse is answered with an empty 400 and the connection closed, as plain
///   HTTP does (Hummingbird answers later requests' framing errors itself);
/// - an `Upgrade` to anything but a WebSocket is dropped from the head, so the request is served.
/// Then the wrapped pipeline's own guards (idle timeout, body deadline) or the WebSocket session's idle close
/// take over. The negotiation future is not public and is read by reflection; were that to fail after a
/// library update, the deadline would not be set, and the raw-socket tests (`WebSocketGuardTests`) say so.
struct GuardedUpgradeChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let inner: HTTP1WebSocketUpgradeChannel
    let headDeadline: TimeAmount

    typealias UpgradeHandler = NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let front = FirstHeadGuard()
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(front, position: .first)
            try operations.addHandler(FirstHeadErrorCatcher(front: front), position: .last)
            let upgrader = try operations.handler(type: UpgradeHandler.self)
            try operations.addHandler(OtherUpgradesIgnored(), position: .before(upgrader))
            // The deadline holds until the first request is decided: an upgrade, or a plain request whose
            // head (and, for an upgrade head, its end) has been read.
            if let negotiation = Self.negotiation(value) {
                front.startDeadline(headDeadline)
                negotiation.whenComplete { _ in front.negotiated() }
            }
            return value
        }
    }

    /// The wrapped channel's negotiation future (not public: read by reflection).
    static func negotiation(_ value: Value) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>? {
        Mirror(reflecting: value).descendant("upgradeResult") as? EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>
    }

    func handle(value: Value, logger: Logger) async {
        // The wrapped channel logs a negotiation that failed before the first request (the client sent a
        // broken head, left, or missed the deadline: all the client's doing) at error level.
        if let negotiation = Self.negotiation(value) {
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

/// The pipeline's first handler (next to the socket): closes the connection when the deadline passes before
/// `negotiated()`, and writes the raw 400 for `FirstHeadErrorCatcher` whatever state the HTTP handlers behind
/// it are in. Used on the channel's event loop only.
private final class FirstHeadGuard: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var rejected = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        negotiated()
        self.context = nil
    }

    func startDeadline(_ amount: TimeAmount) {
        guard let context else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: amount) { loopBound.value.close(promise: nil) }
    }

    /// The first request is decided: the deadline is off.
    func negotiated() {
        deadline?.cancel()
        deadline = nil
    }

    /// Writes an empty 400 and closes.
    func rejectAndClose() {
        guard let context, !rejected else { return }
        rejected = true
        var buffer = context.channel.allocator.buffer(capacity: 80)
        buffer.writeString("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in loopBound.value.close(promise: nil) }
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
            handlerType: GuardedUpgradeChannel.UpgradeHandler.self)) != nil
        if deciding, error is HTTPParserError {
            front.rejectAndClose()
            return
        }
        context.fireErrorCaught(error)
    }
}

/// Before the upgrade handler: an `Upgrade` other than to a WebSocket (h2c from `curl --http2`, a proxy's) is
/// dropped from the first request's head, which is then served as plain HTTP/1.1 (the upgrade handler would
/// otherwise swallow it and the client get no answer). Removes itself after the first head.
private final class OtherUpgradesIgnored: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let upgrades = head.headers["upgrade"]
        if !upgrades.isEmpty, !upgrades.contains(where: { $0.lowercased().contains("websocket") }) {
            head.headers.remove(name: "upgrade")
            let connection = head.headers["connection"].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.lowercased() != "upgrade" && $0.lowercased() != "http2-settings" }
            head.headers.remove(name: "connection")
            head.headers.remove(name: "http2-settings")
            if !connection.isEmpty { head.headers.add(name: "connection", value: connection.joined(separator: ", ")) }
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}
