import EnvrunCore
import Foundation
import HTTPTypes
import Hummingbird

/// The one error shape every endpoint returns: `{"error": {"code", "message", "field"}}`.
/// 4xx for the caller's mistakes (naming the field at fault), 5xx only for our own faults.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil,
                headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body = try JSONIO.errorEncoder.encode(ErrorBody(error: .init(code: code, message: message, field: field)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The wire body, also decoded by clients and tests.
    public struct ErrorBody: Codable, Sendable, Equatable {
        public struct Detail: Codable, Sendable, Equatable {
            public var code: String
            public var message: String
            public var field: String?
        }
        public var error: Detail
    }
}

extension APIError {
    static func invalid(_ message: String, field: String?) -> APIError {
        APIError(.badRequest, code: "invalid_input", message, field: field)
    }

    static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large",
                 "request body is larger than the limit of \(limit) bytes", field: "body")
    }

    static func saturated(retryAfterSeconds: Int, _ why: String = "the server is at its concurrency limit")
        -> APIError
    {
        APIError(.tooManyRequests, code: "saturated", "\(why); retry after \(retryAfterSeconds) s",
                 headers: [.retryAfter: String(retryAfterSeconds)])
    }

    /// Maps an `EnvrunError` thrown by the environment onto HTTP at the edge.
    init(_ error: EnvrunError) {
        switch error.code {
        case .invalidInput: self.init(.badRequest, code: error.code.name, error.message, field: error.field)
        case .notFound: self.init(.notFound, code: error.code.name, error.message, field: error.field)
        case .unavailable: self.init(.serviceUnavailable, code: error.code.name, error.message, field: error.field)
        default: self.init(.internalServerError, code: error.code.name, error.message, field: error.field)
        }
    }

    /// Turns a `DecodingError` into a 400 naming the JSON path at fault (e.g. `items[3].response`).
    init(decoding error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            let path = JSONPath.render(context.codingPath + [key])
            self = .invalid("required field '\(key.stringValue)' is missing", field: path)
        case .typeMismatch(let type, let context):
            let path = JSONPath.render(context.codingPath)
            self = .invalid("wrong type: expected \(JSONPath.jsonTypeName(type))", field: path.isEmpty ? "body" : path)
        case .valueNotFound(let type, let context):
            let path = JSONPath.render(context.codingPath)
            self = .invalid("null where \(JSONPath.jsonTypeName(type)) is required", field: path.isEmpty ? "body" : path)
        case .dataCorrupted(let context):
            let path = JSONPath.render(context.codingPath)
            if path.isEmpty {
                self = APIError(.badRequest, code: "invalid_json", "request body is not valid JSON", field: "body")
            } else {
                self = .invalid(context.debugDescription, field: path)
            }
        @unknown default:
            self = .invalid("the request body could not be decoded", field: "body")
        }
    }
}

/// Renders coding paths the way users write them: `items[3].task.id`.
enum JSONPath {
    static func render(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        if type == String.self { return "a string" }
        if type == Bool.self { return "a boolean" }
        if type == Int.self || type == Int32.self || type == Int64.self { return "an integer" }
        if type == Double.self || type == Float.self { return "a number" }
        let name = String(describing: type)
        if name.hasPrefix("Array") || name.hasPrefix("[") && !name.contains(":") { return "an array" }
        return "an object"
    }
}
