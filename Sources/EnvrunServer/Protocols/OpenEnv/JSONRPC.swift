// JSON-RPC 2.0 as OpenEnv's MCP route speaks it (`tools/list`, `tools/call`), and the JSON Schemas that
// describe actions, observations and tool inputs.

enum JSONRPC {
    /// A request id: a string, a number or null.
    enum ID: Codable, Sendable, Equatable {
        case string(String)
        case number(Int)
        case null

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let n = try? c.decode(Int.self) { self = .number(n) }
            else { self = .string(try c.decode(String.self)) }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .number(let n): try c.encode(n)
            case .null: try c.encodeNil()
            }
        }
    }

    /// The arguments of every envrun tool in one shape (each tool reads the fields it needs).
    struct Arguments: Decodable, Sendable {
        init() {}
        var response: String?
        var answer: String?
        var code: String?
        var taskID: String?
        enum CodingKeys: String, CodingKey {
            case response, answer, code
            case taskID = "task_id"
        }
        /// What a `submit` call submits: `response`, or `answer` as ORS names it.
        var submission: String? { response ?? answer }
    }

    struct Params: Decodable, Sendable {
        var name: String?
        var arguments: Arguments?
    }

    struct Request: Decodable, Sendable {
        var jsonrpc: String?
        var method: String?
        var params: Params?
        var id: ID?
    }

    struct ErrorObject: Encodable, Sendable {
        var code: Int
        var message: String
    }

    /// Standard error codes.
    static let invalidRequest = -32600
    static let methodNotFound = -32601
    static let invalidParams = -32602
    static let internalError = -32603

    struct Response<Result: Encodable & Sendable>: Encodable, Sendable {
        var jsonrpc = "2.0"
        var result: Result?
        var error: ErrorObject?
        var id: ID
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(jsonrpc, forKey: .jsonrpc)
            if let result { try c.encode(result, forKey: .result) }
            if let error { try c.encode(error, forKey: .error) }
            try c.encode(id, forKey: .id)
        }
        enum CodingKeys: String, CodingKey { case jsonrpc, result, error, id }
    }

    /// MCP's tool description.
    struct Tool: Encodable, Sendable {
        var name: String
        var description: String
        var inputSchema: JSONSchema
    }
    struct ToolList: Encodable, Sendable { var tools: [Tool] }

    /// MCP's `tools/call` result: text content plus the structured result.
    struct ToolResult<Structured: Encodable & Sendable>: Encodable, Sendable {
        struct Content: Encodable, Sendable {
            var type = "text"
            var text: String
        }
        var content: [Content]
        var structuredContent: Structured
        var isError: Bool
    }
}

/// A JSON Schema, as much of it as envrun's shapes need.
struct JSONSchema: Encodable, Sendable {
    var type: String
    var description: String?
    var properties: [String: JSONSchema]?
    var required: [String]?
    var items: [JSONSchema]?
    var additionalProperties: Bool?

    static func string(_ description: String) -> JSONSchema { JSONSchema(type: "string", description: description) }
    static func integer(_ description: String) -> JSONSchema { JSONSchema(type: "integer", description: description) }
    static func number(_ description: String) -> JSONSchema { JSONSchema(type: "number", description: description) }
    static func boolean(_ description: String) -> JSONSchema { JSONSchema(type: "boolean", description: description) }

    static func object(_ properties: [String: JSONSchema], required: [String] = [], description: String? = nil)
        -> JSONSchema
    {
        JSONSchema(type: "object", description: description, properties: properties, required: required)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encodeIfPresent(properties, forKey: .properties)
        if let required, !required.isEmpty { try c.encode(required, forKey: .required) }
        try c.encodeIfPresent(items?.first, forKey: .items)
        try c.encodeIfPresent(additionalProperties, forKey: .additionalProperties)
    }
    enum CodingKeys: String, CodingKey { case type, description, properties, required, items, additionalProperties }
}
