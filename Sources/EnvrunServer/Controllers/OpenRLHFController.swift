import EnvrunCore
import Hummingbird

/// OpenRLHF wire compatibility: `POST /get_reward` (its `--remote_rm_url`).
struct OpenRLHFController {
    let services: AppServices

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/get_reward") { request, _ in try await getReward(request) }
    }

    func getReward(_ request: Request) async throws -> Response {
        let body = try await services.decode(GetRewardRequest.self, request)
        let known = Set(services.environment.packs().map(\.name))
        let items = try OpenRLHFMapping.items(body, knownPacks: known, configuration: services.configuration)
        let results = try await services.withWorkSlot(route: "/get_reward") {
            await services.scorer.score(items)
        }
        return try JSONIO.response(OpenRLHFMapping.response(results))
    }
}
