import EnvrunCore
import Hummingbird

/// `GET /v1/packs` and `GET /v1/packs/{pack}/tasks?offset=&limit=` (paged, limit capped).
struct PackController {
    let services: AppServices

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.get("/v1/packs") { _, _ in
            try JSONIO.response(PacksResponse(packs: services.environment.packs()))
        }
        router.get("/v1/packs/{pack}/tasks") { request, context in
            try tasks(request, pack: context.parameters.get("pack") ?? "")
        }
    }

    func tasks(_ request: Request, pack: String) throws -> Response {
        let config = services.configuration
        let offset = try Self.intParameter(request, "offset") ?? 0
        let limit = try Self.intParameter(request, "limit") ?? config.defaultPageSize
        if offset < 0 { throw APIError.invalid("offset must be >= 0", field: "offset") }
        if limit < 1 || limit > config.maxPageSize {
            throw APIError.invalid("limit must be 1...\(config.maxPageSize)", field: "limit")
        }
        guard let info = services.environment.packs().first(where: { $0.name == pack }) else {
            throw APIError(.notFound, code: "not_found", "unknown pack '\(pack)'", field: "pack")
        }
        var tasks: [TaskSpec]
        do {
            tasks = try services.environment.tasks(pack: pack, offset: offset, limit: limit)
            if !config.exposeTaskSecrets { tasks = tasks.map(Self.withoutSecrets) }
        } catch let error as EnvrunError {
            throw services.mapped(error, defaultField: "pack")
        }
        let next = offset + tasks.count < info.taskCount && !tasks.isEmpty ? offset + tasks.count : nil
        return try JSONIO.response(
            TasksPage(pack: pack, offset: offset, limit: limit, total: info.taskCount, tasks: tasks,
                      nextOffset: next))
    }

    /// What a model may see of a task: its id, prompt, entry point and language; nothing that grades it.
    static func withoutSecrets(_ t: TaskSpec) -> TaskSpec {
        var v = t
        v.answer = nil
        v.tests = nil
        v.testSetup = nil
        v.ioCases = nil
        v.reference = nil
        v.metadata = nil
        return v
    }

    static func intParameter(_ request: Request, _ name: String) throws -> Int? {
        guard let raw = request.uri.queryParameters[name[...]] else { return nil }
        guard let value = Int(raw) else {
            throw APIError.invalid("\(name) must be an integer, got '\(raw)'", field: name)
        }
        return value
    }
}
