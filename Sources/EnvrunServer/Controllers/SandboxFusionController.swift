import EnvrunCore
import Hummingbird

/// SandboxFusion wire compatibility: `POST /run_code` runs one program in the sandbox.
/// A failing program is a 200 with status `Failed`, as SandboxFusion answers; bad requests are 4xx.
struct SandboxFusionController {
    let services: AppServices

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/run_code") { request, _ in try await runCode(request) }
    }

    func runCode(_ request: Request) async throws -> Response {
        let body = try await services.decode(RunCodeRequest.self, request)
        let exec = try SandboxFusionMapping.execRequest(body, configuration: services.configuration)
        let result = try await services.withWorkSlot(route: "/run_code") {
            await services.executor.run(exec)
        }
        services.metrics.recordVerdict(result.verdict.rawValue)
        return try JSONIO.response(SandboxFusionMapping.response(result))
    }
}
