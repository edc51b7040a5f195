import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reading request bodies (with the size limit) and writing JSON responses, the same way on every route.
enum JSONIO {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// Error bodies keep a stable key order (code, field, message) for people reading them.
    static let errorEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard buffer.readableBytes > 0 else {
            throw APIError(.badRequest, code: "invalid_json", "request body is empty; expected a JSON object",
                           field: "body")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer, byteTransferStrategy: .noCopy))
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }

    /// Deepest nesting accepted in a request body; envrun's own shapes nest a few levels.
    static let maxDepth = 64

    /// The structural scan before decoding (see `JSONScan`).
    static func precheck(_ buffer: ByteBuffer, maxItems: Int?) throws {
        let scan = buffer.withUnsafeReadableBytes { JSONScan($0) }
        if scan.maxDepth > maxDepth {
            throw APIError.invalid("JSON nests deeper than \(maxDepth) levels", field: "body")
        }
        if let maxItems, scan.largestArrayCount > maxItems {
            let key = scan.largestArrayKey ?? "items"
            throw APIError.invalid(
                "at most \(maxItems) items per request, got \(scan.largestArrayCount)", field: key)
        }
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
