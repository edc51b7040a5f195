import EnvrunCore
import Foundation
import Hummingbird
import NIOCore

/// OpenEnv's HTTP routes for every pack at `/openenv/{pack}` and for the coding environment at
/// `/openenv/coding`: stateless `POST reset`, `POST step`, `POST mcp`, and `GET state`, `schema`,
/// `metadata`, `health`. The session protocol is the WebSocket at `…/ws` (`OpenEnvSocket`).
struct OpenEnvController {
    let services: AppServices

    /// The environment named `name`: the coding environment (when `/run_code` is on and no pack is named
    /// `coding`), or a pack. Unknown names are a 404.
    static func makeSession(services: AppServices, name: String, client: ClientKey, stateless: Bool = false) throws
        -> any OpenEnvSession
    {
        let packs = services.environment.packs()
        if packs.contains(where: { $0.name == name }) {
            return stateless
                ? OpenEnvStatelessPackSession(services: services, pack: name)
                : OpenEnvPackSession(services: services, pack: name, client: client)
        }
        if name == "coding" && services.configuration.runCode { return OpenEnvCodingSession(services: services) }
        let known = (packs.map(\.name) + (services.configuration.runCode ? ["coding"] : [])).sorted()
        throw APIError(.notFound, code: "not_found",
                       "unknown OpenEnv environment '\(name)'; known: \(known.joined(separator: ", "))", field: "env")
    }

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        let group = router.group("/openenv/{env}")
        group.get("health") { _, context in
            _ = try session(context)
            return try JSONIO.response(OpenEnvWire.Health())
        }
        group.get("metadata") { _, context in try JSONIO.response(try metadata(context.parameters.get("env") ?? "")) }
        group.get("schema") { _, context in try JSONIO.response(Self.schema(for: try session(context))) }
        group.get("state") { _, context in try JSONIO.response(AnyEncodable(try session(context).state())) }
        group.get("ws") { _, _ -> Response in
            throw APIError(.badRequest, code: "websocket_required",
                           "this is OpenEnv's WebSocket endpoint; connect with a WebSocket client "
                               + "(openenv-core's EnvClient with base_url=http://HOST:PORT/openenv/ENV)", field: "path")
        }
        group.post("reset") { request, context in
            let s = try session(context)
            return try await services.run(request, context, route: "/openenv/{env}/reset", parse: Self.resetData) { data in
                var local = s
                return try await respond { try await local.reset(data) }
            }
        }
        group.post("step") { request, context in
            let s = try session(context)
            return try await services.run(request, context, route: "/openenv/{env}/step", parse: Self.actionData) { action in
                var local = s
                return try await respond { try await local.step(action: action) }
            }
        }
        group.post("mcp") { request, context in
            let s = try session(context)
            return try await services.run(request, context, route: "/openenv/{env}/mcp", parse: { buffer in
                try services.decode(JSONRPC.Request.self, buffer, maxValues: OpenEnvWire.maxValues)
            }) { rpc in
                var local = s
                return try JSONIO.response(await OpenEnvDispatch.mcp(rpc, session: &local))
            }
        }
    }

    func session(_ context: EnvrunRequestContext) throws -> any OpenEnvSession {
        try Self.makeSession(services: services, name: context.parameters.get("env") ?? "",
                             client: ClientKeys.key(remoteAddress: context.remoteAddress), stateless: true)
    }

    /// An OpenEnv error on an HTTP route, as envrun's error body with a matching status.
    func respond(_ body: () async throws -> any Encodable & Sendable) async throws -> Response {
        do {
            return try JSONIO.response(AnyEncodable(try await body()))
        } catch let error as OpenEnvError {
            switch error.code {
            case .validation, .invalidJSON, .unknownType: throw APIError.invalid(error.message, field: "action")
            case .capacity: throw APIError.saturated(retryAfterSeconds: error.retryAfterSeconds ?? 1)
            default: throw APIError(.internalServerError, code: "execution_error", error.message)
            }
        } catch let error as EnvrunError {
            throw services.mapped(error, defaultField: "action")
        }
    }

    /// The reset body is optional: an empty body resets with no arguments.
    static func resetData(_ buffer: ByteBuffer) throws -> OpenEnvWire.ResetData {
        if buffer.readableBytes == 0 { return .init() }
        try JSONIO.precheck(buffer, maxItems: nil, maxValues: OpenEnvWire.maxValues)
        return try JSONIO.decode(OpenEnvWire.ResetData.self, from: buffer)
    }

    /// The JSON of `action` in `{"action": {…}, "timeout_s"?, "request_id"?}`.
    static func actionData(_ buffer: ByteBuffer) throws -> Data {
        try JSONIO.precheck(buffer, maxItems: nil, maxValues: OpenEnvWire.maxValues)
        let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
        guard let object else { throw JSONIO.notDecodable(Data(buffer.readableBytesView)) }
        guard let action = object["action"] as? [String: Any] else {
            throw APIError.invalid("the body needs an object 'action'", field: "action")
        }
        return try JSONSerialization.data(withJSONObject: action)
    }

    func metadata(_ name: String) throws -> OpenEnvWire.Metadata {
        _ = try Self.makeSession(services: services, name: name, client: .shared)
        let docs: String? = nil  // the README's "Protocols" section ships with the code, not at a URL
        if let pack = services.environment.packs().first(where: { $0.name == name }) {
            return OpenEnvWire.Metadata(
                name: pack.name, description: pack.description,
                readmeContent: "envrun pack \(pack.name) v\(pack.version) (\(pack.license)); reward: \(pack.verifier); "
                    + "\(pack.taskCount) tasks\(pack.multiTurn ? ", multi-turn" : "").",
                version: pack.version, author: "envrun", documentationURL: docs)
        }
        return OpenEnvWire.Metadata(
            name: "coding", description: "Runs Python programs in envrun's sandbox (OpenEnv coding_env's action and observation).",
            readmeContent: nil, version: "1", author: "envrun", documentationURL: docs)
    }

    struct Schemas: Encodable {
        var action: JSONSchema
        var observation: JSONSchema
        var state: JSONSchema
    }

    static func schema(for session: any OpenEnvSession) -> Schemas {
        let state = JSONSchema.object([
            "episode_id": .string("the episode (null before reset)"), "step_count": .integer("steps scored"),
            "pack": .string("the environment"), "task_id": .string("the task"), "done": .boolean("episode over"),
            "turn_rewards": JSONSchema(type: "array", description: "reward of each turn", items: [.number("reward")]),
        ])
        if session is OpenEnvCodingSession {
            return Schemas(
                action: .object(["code": .string("a Python program")], required: ["code"]),
                observation: .object(
                    ["stdout": .string("standard output"), "stderr": .string("standard error"),
                     "exit_code": .integer("exit status (128 + signal when killed)")],
                    required: ["stdout", "stderr", "exit_code"]),
                state: state)
        }
        return Schemas(
            action: .object(
                ["response": .string("the response to score"),
                 "task_id": .string("the task (stateless HTTP step only)")],
                required: ["response"]),
            observation: .object([
                "text": .string("the prompt at reset; the feedback after a step"), "pack": .string("the pack"),
                "task_id": .string("the task"), "episode_id": .string("the episode (WebSocket sessions)"),
                "turn": .integer("turns scored"), "status": .string("ok, error (envrun's failure) or not_applicable"),
                "mask_sample": .boolean("true when the check failed on envrun's side: the reward is null; mask it"),
                "failure_reason": .string("why the check failed"), "source": .string("rule, scalar_rm, generative_rm, hybrid"),
                "components": JSONSchema(type: "object", description: "reward components"),
                "details": JSONSchema(type: "object", description: "verdict details"),
                "turn_rewards": JSONSchema(type: "array", description: "reward of each turn", items: [.number("reward")]),
            ], required: ["text", "pack", "task_id", "turn", "mask_sample", "turn_rewards"]),
            state: state)
    }
}
