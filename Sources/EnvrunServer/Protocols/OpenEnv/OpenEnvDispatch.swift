import EnvrunCore
import Foundation

/// One OpenEnv WebSocket message in, one reply out: `reset`, `step`, `state`, `mcp` and `close`, each
/// answered in OpenEnv's shapes. A bad message gets an error reply and the session goes on.
enum OpenEnvDispatch {
    enum Outcome {
        case reply(String)
        case close
    }

    /// Call it off the cooperative pool (`OpenEnvSocket` runs it on the CPU pool): a message is up to
    /// `max_body_bytes` of JSON.
    static func handle(_ text: String, session: inout any OpenEnvSession) async -> Outcome {
        let bytes = Data(text.utf8)
        let type: String
        do {
            try bytes.withUnsafeBytes { try JSONIO.precheck($0, maxItems: nil, maxValues: OpenEnvWire.maxValues) }
        } catch {
            return .reply(errorMessage(OpenEnvError(.invalidJSON, OpenEnvError(error).message)))
        }
        do {
            type = try JSONDecoder().decode(OpenEnvWire.Envelope.self, from: bytes).type ?? ""
        } catch {
            return .reply(errorMessage(OpenEnvError(.invalidJSON, "invalid JSON: \(JSONIO.notDecodable(bytes).message)")))
        }
        do {
            switch type {
            case "reset":
                let data = try openEnvDecode(OpenEnvWire.ResetMessage.self, bytes).data ?? .init()
                return .reply(try message("observation", try await session.reset(data)))
            case "step":
                guard let action = try actionBytes(bytes) else {
                    throw OpenEnvError(.validation, "a step message needs an object in data")
                }
                return .reply(try message("observation", try await session.step(action: action)))
            case "state":
                return .reply(try message("state", session.state()))
            case "close":
                return .close
            case "mcp":
                let request = try openEnvDecode(OpenEnvWire.MCPMessage.self, bytes).data
                return .reply(try message("mcp", await mcp(request, session: &session)))
            default:
                return .reply(errorMessage(OpenEnvError(
                    .unknownType, "unknown message type '\(type)'; expected reset, step, state, mcp or close")))
            }
        } catch {
            return .reply(errorMessage(OpenEnvError(error)))
        }
    }

    /// The raw JSON of the message's `data` object (the action, which each environment decodes itself).
    static func actionBytes(_ message: Data) throws -> Data? {
        guard let object = try JSONSerialization.jsonObject(with: message) as? [String: Any],
              let data = object["data"] as? [String: Any] else { return nil }
        return try JSONSerialization.data(withJSONObject: data)
    }

    /// JSON-RPC `tools/list` and `tools/call` on this session's environment.
    static func mcp(_ request: JSONRPC.Request, session: inout any OpenEnvSession) async
        -> JSONRPC.Response<AnyEncodable>
    {
        let id = request.id ?? .null
        func failure(_ code: Int, _ message: String) -> JSONRPC.Response<AnyEncodable> {
            JSONRPC.Response(result: nil, error: .init(code: code, message: message), id: id)
        }
        switch request.method {
        case "tools/list":
            return JSONRPC.Response(result: AnyEncodable(JSONRPC.ToolList(tools: type(of: session).tools)), id: id)
        case "tools/call":
            guard let name = request.params?.name else { return failure(JSONRPC.invalidParams, "missing 'name' in params") }
            do {
                let result = try await session.call(tool: name, arguments: request.params?.arguments ?? .init())
                return JSONRPC.Response(result: AnyEncodable(result), id: id)
            } catch {
                let e = OpenEnvError(error)
                return failure(e.code == .validation ? JSONRPC.invalidParams : JSONRPC.internalError, e.message)
            }
        case let method?:
            return failure(JSONRPC.methodNotFound, "method not found: \(method)")
        case nil:
            return failure(JSONRPC.invalidRequest, "missing 'method'")
        }
    }

    static func message(_ type: String, _ data: any Encodable & Sendable) throws -> String {
        String(decoding: try JSONIO.encoder.encode(OpenEnvWire.Outgoing(type: type, data: AnyEncodable(data))), as: UTF8.self)
    }

    static func errorMessage(_ error: OpenEnvError) -> String {
        (try? message("error", error.data)) ?? #"{"type":"error","data":{"message":"internal","code":"EXECUTION_ERROR"}}"#
    }
}

/// An `Encodable` existential in a concrete wrapper (generic wire shapes need a concrete type).
struct AnyEncodable: Encodable, Sendable {
    let value: any Encodable & Sendable
    init(_ value: any Encodable & Sendable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
