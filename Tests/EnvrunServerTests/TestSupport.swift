import EnvrunCore
import EnvrunServer
import EnvrunTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Builds the app on fakes and drives its router in-process.
func withApp(
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    environment: (any EnvrunCore.Environment)? = nil,
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var config = ServerConfiguration()
    config.mathPack = "fake-math"
    config.unlabeledPack = "fake-math"
    configure(&config)
    let app = buildApplication(
        configuration: try config.validated(), environment: environment ?? FakeEnvironment(),
        executor: FakeExecutor(), logger: Logger(label: "envrun.test"))
    try await app.test(.router, body)
}

extension TestClientProtocol {
    /// Sends a JSON body (already encoded text) and returns the response.
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:])
        async throws -> TestResponse
    {
        var headers = headers
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers,
                                 body: json.map { ByteBuffer(string: $0) })
    }

    func send<T: Encodable>(_ method: HTTPRequest.Method, _ uri: String, value: T, headers: HTTPFields = [:])
        async throws -> TestResponse
    {
        let data = try JSONEncoder().encode(value)
        return try await send(method, uri, json: String(decoding: data, as: UTF8.self), headers: headers)
    }
}

extension TestResponse {
    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }

    var errorDetail: APIError.ErrorBody.Detail? {
        try? decoded(APIError.ErrorBody.self).error
    }

    var text: String { String(buffer: body) }
}
