import EnvrunCore
import Hummingbird
import NIOCore

/// Multi-turn episodes: `POST /v1/episodes` (reset) and `POST /v1/episodes/{id}/step`.
struct EpisodeController {
    let services: AppServices

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.post("/v1/episodes") { request, context in
            let client = ClientKeys.key(remoteAddress: context.remoteAddress)
            return try await services.run(request, context, route: "/v1/episodes", parse: parseReset) { body in
                try await reset(body, client: client)
            }
        }
        router.post("/v1/episodes/{id}/step") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await services.run(
                request, context, route: "/v1/episodes/{id}/step",
                parse: { try services.decode(StepRequest.self, $0) }
            ) { body in
                try await step(body, episodeID: id)
            }
        }
    }

    func parseReset(_ buffer: ByteBuffer) throws -> ResetRequest {
        let body = try services.decode(ResetRequest.self, buffer)
        if body.pack.isEmpty { throw APIError.invalid("pack must not be empty", field: "pack") }
        if body.taskID.isEmpty { throw APIError.invalid("task_id must not be empty", field: "task_id") }
        return body
    }

    /// Opens an episode counted against `client`'s quota (the peer address, `ClientKeys`).
    func reset(_ body: ResetRequest, client: ClientKey) async throws -> Response {
        do {
            let result = try await services.environment.reset(pack: body.pack, taskID: body.taskID, client: client)
            return try JSONIO.response(result, status: .created)
        } catch let error as EnvrunError {
            throw services.mapped(error, defaultField: "task_id")
        }
    }

    func step(_ body: StepRequest, episodeID: String) async throws -> Response {
        do {
            return try JSONIO.response(try await services.environment.step(episodeID: episodeID, action: body.action))
        } catch let error as EnvrunError {
            throw services.mapped(error, defaultField: "episode_id")
        }
    }
}
