import EnvrunCore
import NIOCore

/// Who a request is from, for the per-client episode quota: the peer address. An IPv6 peer counts by its
/// /64 (one host can hold a whole /64), an IPv4-mapped IPv6 peer as its IPv4 address; no peer address
/// (in-process tests) is the one shared key.
///
/// The bearer token is not part of the key: `envrun serve` has one token, so every authenticated client
/// carries the same one and keying on it would make them all one client. Nothing a client sends (the
/// `Authorization` header included) changes its key, so it cannot mint new ones. Should envrun get
/// several tokens, the key would be the token's name from the configuration, never the token.
enum ClientKeys {
    static func key(remoteAddress: SocketAddress?) -> ClientKey {
        remoteAddress.flatMap(peerName).map(ClientKey.init) ?? .shared
    }

    static func peerName(_ address: SocketAddress) -> String? {
        switch address {
        case .v4: return address.ipAddress
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            guard bytes.count == 16 else { return address.ipAddress }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return bytes[12..<16].map(String.init).joined(separator: ".")
            }
            let groups = stride(from: 0, to: 8, by: 2).map {
                String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
            }
            return groups.joined(separator: ":") + "::/64"
        case .unixDomainSocket: return nil
        }
    }
}
