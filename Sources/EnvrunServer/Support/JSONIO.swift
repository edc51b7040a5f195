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
        let data = Data(buffer: buffer, byteTransferStrategy: .noCopy)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty { throw notDecodable(data) }
            throw APIError(decoding: error)
        }
    }

    /// JSONDecoder says only "not valid JSON", with no path, both for bad JSON and for a number that does not
    /// fit its field (`1.5` or `1e30` for an integer); JSONSerialization tells the two apart and says where.
    static func notDecodable(_ data: Data) -> APIError {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return .invalid("a number does not fit its field (a fraction or out of range for an integer)",
                            field: "body")
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            return APIError(.badRequest, code: "invalid_json",
                            "request body is not valid JSON" + (detail.map { ": \($0)" } ?? ""), field: "body")
        }
    }

    /// Deepest nesting accepted in a request body; envrun's own shapes nest a few levels.
    static let maxDepth = 64

    /// The structural scan before decoding (see `JSONScan`).
    static func precheck(_ buffer: ByteBuffer, maxItems: Int?, maxValues: Int? = nil) throws {
        try buffer.withUnsafeReadableBytes { try precheck($0, maxItems: maxItems, maxValues: maxValues) }
    }

    /// `maxValues` bounds the values anywhere in the document (commas + 1), for shapes that need no long lists.
    static func precheck(_ bytes: UnsafeRawBufferPointer, maxItems: Int?, maxValues: Int? = nil) throws {
        let scan = JSONScan(bytes)
        if let maxValues, scan.commas >= maxValues {
            throw APIError.invalid("at most \(maxValues) values per message, got \(scan.commas + 1)", field: "body")
        }
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
