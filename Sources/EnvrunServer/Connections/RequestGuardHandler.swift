import NIOCore
import NIOHTTPTypes
import Synchronization

/// The cancel action of the request a connection is working on; fired when the client leaves.
/// One per connection (a future's callback per request would pile up on a keep-alive connection).
final class ConnectionWatch: Sendable {
    private struct State {
        var left = false
        var cancel: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    /// Installs `cancel` for the current request; runs it at once if the client has already left.
    func watch(_ cancel: @escaping @Sendable () -> Void) {
        let leftAlready = state.withLock { s in
            if !s.left { s.cancel = cancel }
            return s.left
        }
        if leftAlready { cancel() }
    }

    func clear() { state.withLock { $0.cancel = nil } }

    func clientLeft() {
        let cancel = state.withLock { s in
            s.left = true
            defer { s.cancel = nil }
            return s.cancel
        }
        cancel?()
    }
}

/// Per-connection deadlines Hummingbird's idle timeout does not cover, in the channel pipeline after
/// HTTP decoding:
/// - a request body must arrive within `bodyTimeout` of its head (a client trickling one byte a second
///   would otherwise hold a connection, a body buffer and a shutdown forever);
/// - a client that closes its side while its request is being read or worked on has left: the
///   connection is closed and the work is cancelled (`ConnectionWatch`, used by `AppServices.onCPU`). HTTP/1.1 clients do not
///   half-close and then wait for an answer; one that does loses its answer, not the server's time.
final class RequestGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A request's body is being read (head seen, end not yet): its deadline runs.
    private var readingBody = false
    /// Requests whose head has been read and whose answer has not been written (pipelining: several).
    private var unanswered = 0
    private var deadline: Scheduled<Void>?
    private let bodyTimeout: TimeAmount
    let watch = ConnectionWatch()
    private let onTimeout: @Sendable () -> Void

    init(bodyTimeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.bodyTimeout = bodyTimeout
        self.onTimeout = onTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            readingBody = true
            unanswered += 1
            deadline?.cancel()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: bodyTimeout) {
                let (handler, context) = loopBound.value
                guard handler.readingBody else { return }
                handler.onTimeout()
                context.close(promise: nil)
            }
        case .body:
            break
        case .end:
            // Only the request's own end stops its deadline — an earlier pipelined request's answer
            // must not (it used to, and a body could then be held open with no deadline at all).
            readingBody = false
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { unanswered = max(0, unanswered - 1) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, unanswered > 0 {
            watch.clientLeft()
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.clientLeft()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}
