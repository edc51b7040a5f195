import EnvrunCore
import Hummingbird

/// `POST /v1/score`: a batch of items, results in order; per-item failures stay inside the result list.
struct ScoreController {
    let services: AppServices

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/score") { request, _ in try await score(request) }
    }

    func score(_ request: Request) async throws -> Response {
        let body = try await services.decode(ScoreRequest.self, request)
        try validate(body)
        let results = try await services.withWorkSlot(route: "/v1/score") {
            await services.scorer.score(body.items)
        }
        return try JSONIO.response(ScoreResponse(results: results))
    }

    /// Shape errors are the caller's: 400 naming the item's field. Unknown packs and tasks are not
    /// checked here; they become that item's error result.
    func validate(_ body: ScoreRequest) throws {
        if body.items.isEmpty { throw APIError.invalid("items must not be empty", field: "items") }
        let max = services.configuration.maxBatchItems
        if body.items.count > max {
            throw APIError.invalid("at most \(max) items per request, got \(body.items.count)", field: "items")
        }
        for (i, item) in body.items.enumerated() {
            if item.pack.isEmpty { throw APIError.invalid("pack must not be empty", field: "items[\(i)].pack") }
            if item.taskID == nil && item.task == nil {
                throw APIError.invalid("give task_id or an inline task", field: "items[\(i)].task_id")
            }
        }
    }
}
