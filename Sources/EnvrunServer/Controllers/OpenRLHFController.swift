import EnvrunCore
import Hummingbird
import NIOCore

/// OpenRLHF wire compatibility: `POST /get_reward` (its `--remote_rm_url`).
struct OpenRLHFController {
    let services: AppServices

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.post("/get_reward") { request, context in
            try await services.run(request, context, route: "/get_reward", parse: parse) { items in
                try await getReward(items)
            }
        }
    }

    func parse(_ buffer: ByteBuffer) throws -> [ScoreItem] {
        let body = try services.decode(GetRewardRequest.self, buffer, maxItems: services.configuration.maxBatchItems)
        let known = Set(services.environment.packs().map(\.name))
        return try OpenRLHFMapping.items(body, knownPacks: known, configuration: services.configuration)
    }

    func getReward(_ items: [ScoreItem]) async throws -> Response {
        let results = await services.scorer.score(items)
        return try JSONIO.response(OpenRLHFMapping.response(results))
    }
}
