import EnvrunCore
import EnvrunServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Hostile bodies on every POST route, in-process: malformed and truncated JSON, 100 000-deep nesting,
/// strings near the body limit, a wrong type in every field, invalid UTF-8, lone surrogates, duplicate keys,
/// NaN and Infinity, an empty body, another content type. Each answer must be a 4xx with the JSON error
/// shape (or a normal answer where the input is in fact acceptable), never a 5xx, and the server must still
/// answer `/healthz` afterwards. The README's "What bad input gets" table lists the outcomes.
@Suite("JSON fuzz: hostile bodies on every POST route")
struct JSONFuzzTests {
    /// A JSON value's type, as a field expects it.
    enum Kind: Sendable { case string, number, integer, stringArray, object, objectArray, stringMap, label, labelArray }

    /// A field of a route's body: `template` is a valid body with `@` where the field's value goes.
    struct Field: Sendable {
        let path: String
        let template: String
        let kind: Kind
        let required: Bool
    }

    struct Route: Sendable, CustomTestStringConvertible {
        let path: String
        let valid: String
        let fields: [Field]
        var testDescription: String { path }
    }

    static let task = #"{"id":"x","prompt":"p","answer":"4"}"#

    static let routes: [Route] = [
        Route(path: "/v1/score", valid: #"{"items":[{"pack":"fake-math","task_id":"2","response":"4"}]}"#, fields: [
            Field(path: "items", template: #"{"items":@}"#, kind: .objectArray, required: true),
            Field(path: "items[0]", template: #"{"items":[@]}"#, kind: .object, required: true),
            Field(path: "items[0].pack", template: #"{"items":[{"pack":@,"task_id":"2","response":"4"}]}"#,
                  kind: .string, required: true),
            Field(path: "items[0].task_id", template: #"{"items":[{"pack":"fake-math","task_id":@,"response":"4"}]}"#,
                  kind: .string, required: false),
            Field(path: "items[0].response", template: #"{"items":[{"pack":"fake-math","task_id":"2","response":@}]}"#,
                  kind: .string, required: true),
            Field(path: "items[0].task", template: #"{"items":[{"pack":"fake-math","task":@,"response":"4"}]}"#,
                  kind: .object, required: false),
        ] + ["id", "prompt", "answer", "tests", "entry_point", "test_setup", "reference", "language", "io_cases",
             "metadata"].map { key in
            let kinds: [String: Kind] = ["io_cases": .objectArray, "metadata": .stringMap]
            let body = #"{"items":[{"pack":"fake-math","task":{"id":"x","prompt":"p","answer":"4","KEY":@},"response":"4"}]}"#
            // id, prompt and answer are already in the object: move them rather than add a duplicate key.
            let given = ["id": "x", "prompt": "p", "answer": "4"]
            let template = given[key].map { body.replacingOccurrences(of: #""\#(key)":"\#($0)","#, with: "") }
                .map { $0.replacingOccurrences(of: "KEY", with: key) } ?? body.replacingOccurrences(of: "KEY", with: key)
            return Field(path: "items[0].task.\(key)", template: template, kind: kinds[key] ?? .string,
                         required: key == "id" || key == "prompt")
        }),
        Route(path: "/v1/episodes", valid: #"{"pack":"fake-math","task_id":"1"}"#, fields: [
            Field(path: "pack", template: #"{"pack":@,"task_id":"1"}"#, kind: .string, required: true),
            Field(path: "task_id", template: #"{"pack":"fake-math","task_id":@}"#, kind: .string, required: true),
        ]),
        Route(path: "/v1/episodes/ep-1/step", valid: #"{"action":"1"}"#, fields: [
            Field(path: "action", template: #"{"action":@}"#, kind: .string, required: true),
        ]),
        Route(path: "/run_code", valid: #"{"code":"print(\"hi\")","language":"python"}"#, fields: [
            Field(path: "code", template: #"{"code":@,"language":"python"}"#, kind: .string, required: true),
            Field(path: "language", template: #"{"code":"print(1)","language":@}"#, kind: .string, required: true),
            Field(path: "compile_timeout", template: #"{"code":"print(1)","language":"python","compile_timeout":@}"#,
                  kind: .number, required: false),
            Field(path: "run_timeout", template: #"{"code":"print(1)","language":"python","run_timeout":@}"#,
                  kind: .number, required: false),
            Field(path: "memory_limit_MB", template: #"{"code":"print(1)","language":"python","memory_limit_MB":@}"#,
                  kind: .integer, required: false),
            Field(path: "stdin", template: #"{"code":"print(1)","language":"python","stdin":@}"#, kind: .string,
                  required: false),
            Field(path: "files", template: #"{"code":"print(1)","language":"python","files":@}"#, kind: .stringMap,
                  required: false),
            Field(path: "fetch_files", template: #"{"code":"print(1)","language":"python","fetch_files":@}"#,
                  kind: .stringArray, required: false),
            Field(path: "args", template: #"{"code":"print(1)","language":"python","args":@}"#, kind: .stringArray,
                  required: false),
        ]),
        Route(path: "/get_reward", valid: #"{"query":["q 4"],"prompts":["q "],"labels":["4"]}"#, fields: [
            Field(path: "query", template: #"{"query":@}"#, kind: .stringArray, required: true),
            Field(path: "prompts", template: #"{"query":["q 4"],"prompts":@}"#, kind: .stringArray, required: false),
            Field(path: "labels", template: #"{"query":["q 4"],"labels":@}"#, kind: .labelArray, required: false),
            Field(path: "labels[0]", template: #"{"query":["q 4"],"labels":[@]}"#, kind: .label, required: false),
            Field(path: "labels[0].pack", template: #"{"query":["q 4"],"labels":[{"pack":@,"answer":"4"}]}"#,
                  kind: .string, required: true),
            Field(path: "labels[0].task_id", template: #"{"query":["q 4"],"labels":[{"pack":"fake-math","task_id":@}]}"#,
                  kind: .string, required: false),
            Field(path: "labels[0].answer", template: #"{"query":["q 4"],"labels":[{"pack":"fake-math","answer":@}]}"#,
                  kind: .string, required: false),
        ]),
    ]

    /// Sample values and the kinds that accept them (by type; a value may still fail validation).
    static let samples: [(json: String, accepted: Set<String>)] = [
        ("7", ["number", "integer", "label"]),
        ("-1.5", ["number", "label"]),
        ("true", []),
        (#""s""#, ["string", "label"]),
        ("[]", ["stringArray", "objectArray", "labelArray"]),
        (#"["s"]"#, ["stringArray", "labelArray"]),
        ("[7]", ["labelArray"]),
        ("{}", ["object", "stringMap", "label"]),
        (#"{"k":"v"}"#, ["object", "stringMap", "label"]),
        (#"{"k":7}"#, ["object"]),
    ]

    // MARK: checks

    /// Not a 5xx; a 4xx has the JSON error shape with a code and a message.
    @discardableResult
    static func expectHandled(_ response: TestResponse, _ what: @autoclosure () -> String) -> APIError.ErrorBody.Detail? {
        #expect(response.status.code < 500, "\(response.status.code) for \(what()): \(response.text.prefix(300))")
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "\(what())")
        guard response.status.code >= 400 else {
            #expect((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) != nil, "\(what())")
            return nil
        }
        let detail = response.errorDetail
        #expect(detail != nil && !detail!.code.isEmpty && !detail!.message.isEmpty,
                "not the JSON error shape for \(what()): \(response.text.prefix(300))")
        return detail
    }

    static func post(_ client: any TestClientProtocol, _ path: String, _ bytes: [UInt8],
                     contentType: String? = "application/json") async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        return try await client.execute(uri: path, method: .post, headers: headers,
                                        body: bytes.isEmpty ? nil : ByteBuffer(bytes: bytes))
    }

    static func expectHealthy(_ client: any TestClientProtocol) async throws {
        let health = try await client.send(.get, "/healthz")
        #expect(health.status == .ok, "healthz after the fuzzing: \(health.status)")
    }

    // MARK: tests

    @Test("a wrong type in every field: 400 naming the field", arguments: routes)
    func wrongTypes(route: Route) async throws {
        try await withApp { client in
            for field in route.fields {
                for sample in Self.samples {
                    let body = field.template.replacingOccurrences(of: "@", with: sample.json)
                    let response = try await Self.post(client, route.path, Array(body.utf8))
                    let detail = Self.expectHandled(response, "\(route.path) \(body)")
                    guard !sample.accepted.contains("\(field.kind)") else { continue }
                    #expect(response.status == .badRequest, "\(route.path) \(body): \(response.text)")
                    #expect(detail?.code == "invalid_input", "\(route.path) \(body): \(response.text)")
                    // JSONDecoder gives no path for a fraction in an integer field: the message says what is wrong.
                    if field.kind == .integer, sample.json == "-1.5" {
                        #expect(detail?.field == "body" && detail?.message.contains("does not fit") == true)
                        continue
                    }
                    let at = detail?.field ?? ""
                    #expect(at == field.path || at.hasPrefix(field.path + ".") || at.hasPrefix(field.path + "["),
                            "\(route.path) \(body): field \(at), expected \(field.path)")
                }
                // null: absent for an optional field, a 400 naming a required one.
                let body = field.template.replacingOccurrences(of: "@", with: "null")
                let response = try await Self.post(client, route.path, Array(body.utf8))
                let detail = Self.expectHandled(response, "\(route.path) \(body)")
                if field.required {
                    #expect(response.status == .badRequest && detail?.field == field.path, "\(body): \(response.text)")
                }
            }
            try await Self.expectHealthy(client)
        }
    }

    @Test("every truncation of a valid body: 400 invalid_json", arguments: routes)
    func truncated(route: Route) async throws {
        try await withApp { client in
            let bytes = Array(route.valid.utf8)
            for n in 0..<bytes.count {
                let response = try await Self.post(client, route.path, Array(bytes[..<n]))
                let detail = Self.expectHandled(response, "\(route.path) \(route.valid.prefix(n))")
                #expect(response.status == .badRequest && detail?.code == "invalid_json" && detail?.field == "body",
                        "\(route.path) \(route.valid.prefix(n)): \(response.text)")
            }
            try await Self.expectHealthy(client)
        }
    }

    @Test("seeded byte mutations of a valid body: never 5xx", arguments: routes)
    func mutated(route: Route) async throws {
        try await withApp { client in
            var rng = SplitMix64(seed: route.path.utf8.reduce(0x9E37_79B9) { $0 &* 31 &+ UInt64($1) })
            let alphabet = Array(#"{}[]":,\ 0123456789.eE+-truefalsnul"#.utf8) + [0x00, 0x0A, 0x7F, 0xC3, 0xFF, 0xED, 0xA0]
            for _ in 0..<150 {
                var bytes = Array(route.valid.utf8)
                for _ in 0..<rng.int(in: 1...4) {
                    let at = rng.int(in: 0...bytes.count - 1)
                    switch rng.int(in: 0...3) {
                    case 0: bytes.remove(at: at)
                    case 1: bytes.insert(alphabet[rng.int(in: 0...alphabet.count - 1)], at: at)
                    case 2: bytes[at] = alphabet[rng.int(in: 0...alphabet.count - 1)]
                    default: bytes.insert(contentsOf: bytes[at...].prefix(rng.int(in: 1...8)), at: at)
                    }
                    if bytes.isEmpty { bytes = [0x7B] }
                }
                let response = try await Self.post(client, route.path, bytes)
                Self.expectHandled(response, "\(route.path) \(String(decoding: bytes, as: UTF8.self))")
            }
            try await Self.expectHealthy(client)
        }
    }

    /// Class name, body, and the status and code it gets (nil: any non-5xx answer).
    static func hostileBodies(_ route: Route) -> [(name: String, body: [UInt8], status: Int?, code: String?)] {
        let valid = route.valid
        // The route's first string value, to splice bytes into: `{"items":[{"pack":"fake-math"…` → after `"fake-`.
        let firstString = valid.range(of: #":""#) ?? valid.range(of: #"[""#)!
        func spliced(_ insert: [UInt8]) -> [UInt8] {
            let head = Array(valid[..<firstString.upperBound].utf8), tail = Array(valid[firstString.upperBound...].utf8)
            return head + insert + tail
        }
        func replacingFirstValue(with raw: String) -> [UInt8] {
            // The first field's value, whatever its type, becomes `raw`.
            let field = route.fields.first { !$0.template.hasPrefix(#"{"items":@"#) } ?? route.fields[0]
            return Array(field.template.replacingOccurrences(of: "@", with: raw).utf8)
        }
        let deep = 100_000
        return [
            ("empty body", [], 400, "invalid_json"),
            ("whitespace only", Array("  \n\t ".utf8), 400, "invalid_json"),
            ("100 000 [ ", Array(String(repeating: "[", count: deep).utf8), 400, "invalid_input"),
            ("100 000 nested arrays, closed", Array((String(repeating: "[", count: deep) + String(repeating: "]", count: deep)).utf8), 400, "invalid_input"),
            ("100 000 nested objects", Array(String(repeating: #"{"a":"#, count: deep).utf8), 400, "invalid_input"),
            ("65 nested arrays", Array((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8), 400, "invalid_input"),
            ("deep nesting inside a field", replacingFirstValue(with: String(repeating: "[", count: deep) + String(repeating: "]", count: deep)), 400, nil),
            ("invalid UTF-8: 0xFF", spliced([0xFF]), 400, "invalid_json"),
            ("invalid UTF-8: a cut sequence", spliced([0xC3, 0x28]), 400, "invalid_json"),
            ("invalid UTF-8: overlong", spliced([0xC0, 0xAF]), 400, "invalid_json"),
            ("invalid UTF-8: an encoded surrogate", spliced([0xED, 0xA0, 0x80]), 400, "invalid_json"),
            ("invalid UTF-8: beyond U+10FFFF", spliced([0xF4, 0x90, 0x80, 0x80]), 400, "invalid_json"),
            ("invalid UTF-8 outside strings", [0xFF, 0xFE] + Array(valid.utf8), 400, "invalid_json"),
            ("a lone high surrogate escape", spliced(Array(#"\ud800"#.utf8)), 400, "invalid_json"),
            ("a lone low surrogate escape", spliced(Array(#"\udc00"#.utf8)), 400, "invalid_json"),
            ("a high surrogate and a letter", spliced(Array(#"\ud800\u0041"#.utf8)), 400, "invalid_json"),
            ("a raw control character in a string", spliced([0x01]), 400, "invalid_json"),
            ("a NUL byte in a string", spliced([0x00]), 400, "invalid_json"),
            ("an escaped NUL \\u0000 in a string", spliced(Array(#"\u0000"#.utf8)), nil, nil),
            ("a bad escape", spliced(Array(#"\q"#.utf8)), 400, "invalid_json"),
            ("NaN", replacingFirstValue(with: "NaN"), 400, "invalid_json"),
            ("Infinity", replacingFirstValue(with: "Infinity"), 400, "invalid_json"),
            ("-Infinity", replacingFirstValue(with: "-Infinity"), 400, "invalid_json"),
            ("1e999", replacingFirstValue(with: "1e999"), 400, nil),
            ("a 40-digit integer", replacingFirstValue(with: String(repeating: "9", count: 40)), 400, nil),
            ("a JSON string instead of an object", Array(#""hello""#.utf8), 400, "invalid_input"),
            ("a number instead of an object", Array("42".utf8), 400, "invalid_input"),
            ("null instead of an object", Array("null".utf8), 400, "invalid_input"),
            ("an array instead of an object", Array("[]".utf8), 400, "invalid_input"),
            ("trailing garbage", Array((valid + "x").utf8), 400, "invalid_json"),
            ("two objects", Array((valid + valid).utf8), 400, "invalid_json"),
            ("a comment", Array(("/* c */" + valid).utf8), 400, "invalid_json"),
            ("single quotes", Array(valid.replacingOccurrences(of: "\"", with: "'").utf8), 400, "invalid_json"),
            ("a trailing comma (Foundation's parser accepts it)", Array((valid.dropLast() + ",}").utf8), nil, nil),
            ("form-encoded instead of JSON", Array("code=print(1)&language=python".utf8), 400, "invalid_json"),
            ("a UTF-8 byte-order mark first", [0xEF, 0xBB, 0xBF] + Array(valid.utf8), nil, nil),
        ]
    }

    @Test("hostile bodies: the class's status and code, never 5xx", arguments: routes)
    func hostile(route: Route) async throws {
        try await withApp { client in
            for c in Self.hostileBodies(route) {
                let response = try await Self.post(client, route.path, c.body)
                let detail = Self.expectHandled(response, "\(route.path): \(c.name)")
                if let status = c.status {
                    #expect(response.status.code == status, "\(route.path): \(c.name): \(response.text.prefix(300))")
                }
                if let code = c.code {
                    #expect(detail?.code == code, "\(route.path): \(c.name): \(response.text.prefix(300))")
                }
            }
            try await Self.expectHealthy(client)
        }
    }

    /// Per route: a field and a valid value for it.
    static let duplicated: [String: (field: String, value: String)] = [
        "/v1/score": ("items[0].pack", #""fake-math""#), "/v1/episodes": ("pack", #""fake-math""#),
        "/v1/episodes/ep-1/step": ("action", #""1""#), "/run_code": ("code", #""print(1)""#),
        "/get_reward": ("query", #"["q 4"]"#),
    ]

    @Test("duplicate keys: the first value is used (as Foundation's JSONDecoder does), never a 5xx", arguments: routes)
    func duplicateKeys(route: Route) async throws {
        try await withApp { client in
            let (path, value) = try #require(Self.duplicated[route.path])
            let field = try #require(route.fields.first { $0.path == path })
            let key = "\"" + path.split(separator: ".").last! + "\""
            var rejected: [Bool] = []
            for raw in ["\(value),\(key):7", "7,\(key):\(value)"] {
                let body = field.template.replacingOccurrences(of: "@", with: raw)
                let response = try await Self.post(client, route.path, Array(body.utf8))
                let detail = Self.expectHandled(response, "\(route.path) \(body)")
                rejected.append(response.status == .badRequest && detail?.field == path)
            }
            // A wrong first value is rejected and a wrong second one ignored (Python's json keeps the last).
            #expect(rejected == [false, true], "duplicate \(key): \(rejected)")
            try await Self.expectHealthy(client)
        }
    }

    @Test("strings near the body limit are read; one byte over is 413", arguments: routes)
    func nearTheLimit(route: Route) async throws {
        let limit = 1 << 20
        try await withApp({ $0.maxBodyBytes = limit }) { client in
            let field = route.fields.first { $0.kind == .string && $0.required } ?? route.fields[0]
            let shell = field.template.replacingOccurrences(of: "@", with: "\"\"")
            let fill = limit - shell.utf8.count
            for (size, status) in [(fill, nil as Int?), (fill + 1, 413)] {
                // Escapes and multi-byte characters as well as plain letters.
                let unit = "a\\u00e9é\\n"
                let text = String(repeating: unit, count: size / unit.utf8.count)
                    + String(repeating: "b", count: size % unit.utf8.count)
                let body = field.template.replacingOccurrences(of: "@", with: "\"" + text + "\"")
                #expect(body.utf8.count == size + shell.utf8.count)
                let response = try await Self.post(client, route.path, Array(body.utf8))
                let detail = Self.expectHandled(response, "\(route.path) with \(body.utf8.count) bytes")
                if let status {
                    #expect(response.status.code == status && detail?.code == "payload_too_large", "\(response.text)")
                } else {
                    #expect(response.status.code != 413, "exactly the limit is allowed: \(response.text)")
                }
            }
            try await Self.expectHealthy(client)
        }
    }

    @Test("another content type: the body is read as JSON all the same", arguments: routes)
    func contentTypes(route: Route) async throws {
        try await withApp { client in
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/json; charset=latin1", nil] {
                let response = try await Self.post(client, route.path, Array(route.valid.utf8), contentType: type)
                Self.expectHandled(response, "\(route.path) as \(type ?? "no content type")")
                #expect(response.status.code != 400 && response.status.code != 415, "\(type ?? "none"): \(response.text)")
            }
            try await Self.expectHealthy(client)
        }
    }
}
