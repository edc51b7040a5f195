import EnvrunCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// envrun as a NeMo Gym resources server (NVIDIA-NeMo/Gym `base_resources_server.py`): `POST /seed_session`,
/// `POST /verify`, `POST /aggregate_metrics`, `GET /reverify_mode`, and the tool route `POST /execute_python`;
/// each also under Gym's `/ng-rollout/{id}/` prefix.
///
/// A verify row names its task with `pack` and `task_id`, or gives the gold as `expected_answer` (Gym's
/// convention; scored by `pack`, else the server's `math_pack`). The response text is the Responses-API
/// object's last `message` item's `output_text`. The reply echoes the row and adds `reward`,
/// `reward_components` (also each component at the top level, which Gym's metrics read) and `envrun_status`.
/// A check that failed on envrun's side adds `mask_sample: true` (top level and in `instance_config`, where
/// NeMo RL reads it), `failure_reason`, and `_ng_failure_class` (Gym routes the row to its failures file and
/// retries it); its `reward` is 0.0 only because Gym's schema needs a number there.
///
/// Every reply re-sends the session cookie: Gym's agent replaces its cookies with each response's.
struct NeMoGymController {
    let services: AppServices
    static let cookie = "envrun_gym_session"

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.get("/") { request, context in try await withCookie(request, context) { try JSONIO.response(["status": "ok"]) } }
        for prefix in ["", "/ng-rollout/{rollout}"] {
            router.post("\(prefix)/seed_session") { request, context in
                try await withCookie(request, context) {
                    try await services.withBody(request, route: "/seed_session") { _ in try JSONIO.response([String: String]()) }
                }
            }
            router.get("\(prefix)/reverify_mode") { request, context in try await withCookie(request, context) { try JSONIO.response("stateless") } }
            router.post("\(prefix)/verify") { request, context in
                try await withCookie(request, context) {
                    try await services.run(request, context, route: "/verify", parse: parseVerify) { row in
                        try await verify(row)
                    }
                }
            }
            router.post("\(prefix)/aggregate_metrics") { request, context in
                try await withCookie(request, context) {
                    try await services.run(request, context, route: "/aggregate_metrics", parse: { buffer in
                        try GymMetrics.aggregate(Self.object(buffer))
                    }) { metrics in
                        try JSONIO.response(metrics)
                    }
                }
            }
            router.post("\(prefix)/execute_python") { request, context in
                try await withCookie(request, context) {
                    guard services.configuration.runCode else {
                        throw APIError(.forbidden, code: "disabled", "code execution is turned off on this server (run_code: false)")
                    }
                    return try await services.run(request, context, route: "/execute_python", parse: { buffer in
                        try services.decode(OpenEnvWire.CodeAction.self, buffer)
                    }) { action in
                        try await executePython(action.code)
                    }
                }
            }
        }
    }

    // MARK: - verify

    struct Row: @unchecked Sendable {  // a JSON object from JSONSerialization, read and written on one task
        var fields: [String: Any]
        var item: ScoreItem
    }

    func parseVerify(_ buffer: ByteBuffer) throws -> Row {
        let fields = try Self.object(buffer)
        guard let response = fields["response"] as? [String: Any] else {
            throw APIError.invalid("the row needs 'response', a Responses API object", field: "response")
        }
        let text = try Self.outputText(response)
        let pack = (fields["pack"] as? String) ?? services.configuration.mathPack
        if let taskID = fields["task_id"] as? String ?? (fields["task_id"] as? Int).map(String.init) {
            return Row(fields: fields, item: ScoreItem(pack: pack, taskID: taskID, response: text))
        }
        guard let gold = fields["expected_answer"].flatMap(Self.string) else {
            throw APIError.invalid("name the task with pack and task_id, or give expected_answer", field: "task_id")
        }
        let prompt = (fields["question"] as? String) ?? ""
        return Row(fields: fields, item: ScoreItem(pack: pack, task: TaskSpec(id: "gym", prompt: prompt, answer: gold),
                                                   response: text))
    }

    func verify(_ row: Row) async throws -> Response {
        let result = await services.scorer.score([row.item])[0]
        var out = row.fields
        let masked = RewardMarking.isMasked(result)
        out["reward"] = masked ? 0.0 : result.reward
        out["reward_components"] = result.components
        for (k, v) in result.components where out[k] == nil { out[k] = v }
        out["envrun_status"] = result.status.rawValue
        out["envrun_source"] = result.source.rawValue
        if let extracted = result.details["extracted_answer"] { out["extracted_answer"] = extracted }
        if masked {
            out["mask_sample"] = true
            var config = out["instance_config"] as? [String: Any] ?? [:]
            config["mask_sample"] = true
            out["instance_config"] = config
            out["failure_reason"] = RewardMarking.failureReason(result)
            out["_ng_failure_class"] = "envrun_check_failed"
        }
        return Self.json(out)
    }

    /// The text of the response's last `message` output item (its `output_text` parts joined).
    static func outputText(_ response: [String: Any]) throws -> String {
        guard let output = response["output"] as? [[String: Any]] else {
            throw APIError.invalid("response.output must be a list of output items", field: "response.output")
        }
        guard let message = output.last(where: { ($0["type"] as? String) == "message" }) else { return "" }
        let parts = message["content"] as? [[String: Any]] ?? []
        return parts.filter { ($0["type"] as? String) == "output_text" }.compactMap { $0["text"] as? String }.joined()
    }

    // MARK: - tools

    /// `{code}` → `{success, stdout, stderr, error_message, result}` (Gym's math_with_code tool shape).
    func executePython(_ code: String) async throws -> Response {
        var coding = OpenEnvCodingSession(services: services)
        do {
            let o = try await coding.run(code).observation
            return Self.json([
                "success": o.exitCode == 0, "stdout": o.stdout, "stderr": o.stderr,
                "error_message": o.exitCode == 0 ? NSNull() : "exit code \(o.exitCode)" as Any, "result": NSNull(),
            ])
        } catch let e as OpenEnvError {
            throw e.code == .validation ? APIError.invalid(e.message, field: "code")
                : APIError(.serviceUnavailable, code: "sandbox_error", e.message)
        }
    }

    // MARK: - helpers

    /// Runs `body` and re-sends the session cookie (made here when the request has none).
    func withCookie(_ request: Request, _ context: EnvrunRequestContext, _ body: () async throws -> Response)
        async throws -> Response
    {
        let session = Self.session(request) ?? UUID().uuidString
        var response: Response
        do {
            response = try await body()
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as EnvrunError {
            response = try APIError(error).response(from: request, context: context)
        }
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.cookie)=\(session); Path=/; HttpOnly; SameSite=Lax"))
        return response
    }

    static func session(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == cookie, kv[1].count <= 64,
                   kv[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                    return String(kv[1])
                }
            }
        }
        return nil
    }

    static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try JSONIO.precheck(buffer, maxItems: nil)
        let data = Data(buffer.readableBytesView)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw JSONIO.notDecodable(data)
        }
        return object
    }

    static func string(_ value: Any) -> String? {
        switch value {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
