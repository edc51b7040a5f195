import EnvrunCore
import Hummingbird
import NIOCore

/// `POST /v1/score`: a batch of items, results in order; per-item failures stay inside the result list.
struct ScoreController {
    let services: AppServices

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.post("/v1/score") { request, context in
            try await services.run(request, context, route: "/v1/score", parse: parse) { body in
                try await score(body)
            }
        }
    }

    func parse(_ buffer: ByteBuffer) throws -> ScoreRequest {
        let body = try Self.decode(buffer, maxItems: services.configuration.maxBatchItems)
        try validate(body)
        return body
    }

    func score(_ body: ScoreRequest) async throws -> Response {
        let results = await services.scorer.score(body.items)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: RewardJSON.encode(results)))
    }

    /// The fast reader for the common shape (it stops counting past `maxItems`), else a structural scan
    /// and JSONDecoder (which names the field of any error).
    static func decode(_ buffer: ByteBuffer, maxItems: Int) throws -> ScoreRequest {
        switch ScoreRequestReader.read(Array(buffer.readableBytesView), maxItems: maxItems) {
        case .request(let fast): return fast
        case .tooManyItems:
            throw APIError.invalid("at most \(maxItems) items per request, got more", field: "items")
        case .notFastShape:
            try JSONIO.precheck(buffer, maxItems: maxItems)
            return try JSONIO.decode(ScoreRequest.self, from: buffer)
        }
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
            if let task = item.task {
                guard services.configuration.inlineTasks else {
                    throw APIError.invalid("inline tasks are turned off on this server (inline_tasks: false); give a task_id",
                                           field: "items[\(i)].task")
                }
                let cases = task.ioCases?.count ?? 0
                if cases > services.configuration.maxInlineCases {
                    throw APIError.invalid(
                        "an inline task may have at most \(services.configuration.maxInlineCases) io_cases, got \(cases)",
                        field: "items[\(i)].task.io_cases")
                }
            }
        }
    }
}
