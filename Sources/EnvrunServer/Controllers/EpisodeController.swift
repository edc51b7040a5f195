import EnvrunCore
import Hummingbird

/// Multi-turn episodes: `POST /v1/episodes` (reset) and `POST /v1/episodes/{id}/step`.
struct EpisodeController {
    let services: AppServices

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/episodes") { request, _ in try await reset(request) }
        router.post("/v1/episodes/{id}/step") { request, context in
            try await step(request, episodeID: context.parameters.get("id") ?? "")
        }
    }

    func reset(_ request: Request) async throws -> Response {
        let body = try await services.decode(ResetRequest.self, request)
        if body.pack.isEmpty { throw APIError.invalid("pack must not be empty", field: "pack") }
        if body.taskID.isEmpty { throw APIError.invalid("task_id must not be empty", field: "task_id") }
        let result = try await services.withWorkSlot(route: "/v1/episodes") {
            do {
                return try await services.environment.reset(pack: body.pack, taskID: body.taskID)
            } catch let error as EnvrunError {
                throw services.mapped(error, defaultField: "task_id")
            }
        }
        return try JSONIO.response(result, status: .created)
    }

    func step(_ request: Request, episodeID: String) async throws -> Response {
        let body = try await services.decode(StepRequest.self, request)
        let result = try await services.withWorkSlot(route: "/v1/episodes/{id}/step") {
            do {
                return try await services.environment.step(episodeID: episodeID, action: body.action)
            } catch let error as EnvrunError {
                throw services.mapped(error, defaultField: "episode_id")
            }
        }
        return try JSONIO.response(result)
    }
}
