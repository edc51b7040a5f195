import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core context plus the connection, so that work
/// can be cancelled when the client goes away and quotas can key on the peer.
public struct EnvrunRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on (nil in tests that build a context by hand).
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The peer's address, when the transport has one.
    public var remoteAddress: SocketAddress? { channel?.remoteAddress }
}
