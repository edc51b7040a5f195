import EnvrunCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Turns every error into the JSON error body: ours pass through, Hummingbird's own (404 for an unknown
/// route, 413 from body collection) are rewritten, and anything else is a 500 that is logged — our fault.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as EnvrunError {
            return try APIError(error).response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.rewrite(error, request: request).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(.contentTooLarge, code: "payload_too_large", "request body is too large",
                                field: "body").response(from: request, context: context)
        } catch let error as DecodingError {
            return try APIError(decoding: error).response(from: request, context: context)
        } catch {
            context.logger.error("internal error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return try APIError(.internalServerError, code: "internal", "internal server error")
                .response(from: request, context: context)
        }
    }

    static func rewrite(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return APIError(.notFound, code: "not_found",
                            "no route for \(request.method) \(request.uri.path)", field: "path")
        case .contentTooLarge:
            return APIError(.contentTooLarge, code: "payload_too_large", error.body ?? "request body is too large",
                            field: "body")
        default:
            let code = error.status.code < 500 ? "invalid_input" : "internal"
            return APIError(error.status, code: code, error.body ?? error.status.reasonPhrase,
                            headers: error.headers)
        }
    }
}
