import EnvrunCore
import Hummingbird
import NIOCore

/// SandboxFusion wire compatibility: `POST /run_code` runs one program in the sandbox.
/// A failing program is a 200 with status `Failed`, as SandboxFusion answers; bad requests are 4xx. A
/// saturated server answers 504 with Retry-After, not 429: 504 is the only status verl's SandboxFusion
/// client retries.
struct SandboxFusionController {
    let services: AppServices

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.post("/run_code") { request, context -> Response in
            guard services.configuration.runCode else {
                throw APIError(.forbidden, code: "disabled", "/run_code is turned off on this server (run_code: false)",
                               field: "path")
            }
            do {
                return try await services.run(request, context, route: "/run_code", parse: parse) { exec in
                    try await runCode(exec)
                }
            } catch var error as APIError where error.status == .tooManyRequests {
                error.status = .gatewayTimeout
                throw error
            }
        }
    }

    func parse(_ buffer: ByteBuffer) throws -> ExecRequest {
        let body = try services.decode(RunCodeRequest.self, buffer)
        return try SandboxFusionMapping.execRequest(body, configuration: services.configuration)
    }

    func runCode(_ exec: ExecRequest) async throws -> Response {
        let result = await services.executor.run(exec)
        services.metrics.recordExec(result)
        return try JSONIO.response(SandboxFusionMapping.response(result))
    }
}
