import EnvrunCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The Open Reward Standard (the `openreward` client; TRL's OpenReward integration, SkyRL) over every
/// pack, on the main port at the root paths the client uses. The environment is the `X-Deployment`
/// header (an `owner/` prefix is dropped) or the `/{env}/…` path form. One split, `train`, holds all of a
/// pack's tasks. Tools: `submit` (every pack; returns the reward and `finished`) and `run_code` (code
/// packs, when `/run_code` is on: runs a program in the sandbox, no reward).
struct ORSController {
    let services: AppServices
    let store: ORSSessionStore
    static let split = "train"
    static let route = "/ors/call"

    init(services: AppServices) {
        self.services = services
        store = services.orsSessions
    }

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        router.get("/health") { _, _ in try JSONIO.response(["status": "ok"]) }
        router.get("/list_environments") { _, _ in try JSONIO.response(services.environment.packs().map(\.name)) }
        router.get("/v1/environments") { _, _ in
            let packs = services.environment.packs()
            return try JSONIO.response(ORSWire.Environments(
                environments: packs.map { .init(name: $0.name, description: $0.description) }, total: packs.count))
        }
        router.post("/create_session") { _, _ in
            try await orsErrors {
                let sid: String
                do {
                    sid = try await store.create()
                } catch is ORSSessionStore.Full {
                    services.metrics.recordRejected(route: "/create_session")
                    throw APIError.saturated(
                        retryAfterSeconds: services.configuration.retryAfterSeconds,
                        "the server has \(services.sessions.capacity) sessions open, its limit (max_sessions)")
                }
                return SSE.response { writer in
                    try await writer.write(SSE.event("task_id", sid))
                    try await writer.write(SSE.event("end", ""))
                }
            }
        }
        router.post("/create") { request, context in
            try await orsErrors {
                let sid = try sessionID(request)
                return try await services.run(request, context, route: "/create", parse: {
                    try services.decode(ORSWire.CreateRequest.self, $0)
                }) { body in
                    try await create(sid: sid, body: body, request: request, context: context)
                }
            }
        }
        router.post("/ping") { request, _ in
            try await orsErrors {
                _ = try await store.get(try sessionID(request))
                return try JSONIO.response(["status": "ok"])
            }
        }
        router.post("/delete") { request, _ in
            try await orsErrors {
                guard await store.unbind(try sessionID(request)) else { throw ORSSessionStore.Gone() }
                return try JSONIO.response(["status": "ok"])
            }
        }
        router.post("/delete_session") { request, _ in
            try await orsErrors {
                guard await store.remove(try sessionID(request)) else { throw ORSSessionStore.Gone() }
                return try JSONIO.response(["status": "ok"])
            }
        }
        for prefix in ["", "/{env}"] {
            router.get("\(prefix)/splits") { request, context in
                try await orsErrors {
                    _ = try env(request, context)
                    return try JSONIO.response([ORSWire.Split(name: Self.split, type: "train")])
                }
            }
            for path in ["tools", "task_tools"] {
                router.get("\(prefix)/\(path)") { request, context in
                    try await orsErrors { try JSONIO.response(ORSWire.Tools(tools: tools(try env(request, context)))) }
                }
            }
            router.post("\(prefix)/tasks") { request, context in
                try await orsErrors {
                    let name = try env(request, context)
                    return try await services.run(request, context, route: "/tasks", parse: { try decodeSplit($0) }) { _ in
                        try JSONIO.response(ORSWire.Tasks(tasks: try taskRange(name, nil, nil), envName: name))
                    }
                }
            }
            router.post("\(prefix)/num_tasks") { request, context in
                try await orsErrors {
                    let info = try TaskPicker.info(services.environment, pack: try env(request, context))
                    return try await services.run(request, context, route: "/num_tasks", parse: { try decodeSplit($0) }) { _ in
                        try JSONIO.response(ORSWire.NumTasks(numTasks: info.taskCount))
                    }
                }
            }
            router.post("\(prefix)/task") { request, context in
                try await orsErrors {
                    let name = try env(request, context)
                    return try await services.run(request, context, route: "/task", parse: {
                        try services.decode(ORSWire.TaskRequest.self, $0)
                    }) { body in
                        try checkSplit(body.split)
                        let task = try TaskPicker.task(services.environment, pack: name, index: try index(name, body.index))
                        return try JSONIO.response(ORSWire.OneTask(task: Self.view(task, index: body.index), envName: name))
                    }
                }
            }
            router.post("\(prefix)/task_range") { request, context in
                try await orsErrors {
                    let name = try env(request, context)
                    return try await services.run(request, context, route: "/task_range", parse: {
                        try services.decode(ORSWire.RangeRequest.self, $0)
                    }) { body in
                        try checkSplit(body.split)
                        return try JSONIO.response(ORSWire.Tasks(tasks: try taskRange(name, body.start, body.stop), envName: name))
                    }
                }
            }
            router.get("\(prefix)/prompt") { request, _ in
                try await orsErrors {
                    let session = try await store.get(try sessionID(request))
                    guard let episode = session.episode else {
                        throw APIError.invalid("the session has no task yet: POST /create first", field: "X-Session-ID")
                    }
                    return try JSONIO.response([ORSWire.Block(text: episode.prompt)])
                }
            }
            router.post("\(prefix)/call") { request, context in
                try await orsErrors {
                    let sid = try sessionID(request)
                    _ = try await store.get(sid)
                    if services.limiter.isFull {
                        services.metrics.recordRejected(route: Self.route)
                        throw APIError.saturated(retryAfterSeconds: services.configuration.retryAfterSeconds)
                    }
                    let body = try await services.withBody(request, route: Self.route) { buffer in
                        try services.decode(ORSWire.CallRequest.self, buffer)
                    }
                    return call(sid: sid, body: body)
                }
            }
        }
    }

    // MARK: - Sessions and tools

    func create(sid: String, body: ORSWire.CreateRequest, request: Request, context: EnvrunRequestContext)
        async throws -> Response
    {
        _ = try await store.get(sid)
        let name = try (try? env(request, context)) ?? body.envName.map(Self.stripOwner)
            ?? { throw APIError.invalid("name the environment (X-Deployment header or env_name)", field: "env_name") }()
        let (taskID, index): (String?, Int?)
        if let spec = body.taskSpec {
            (taskID, index) = (spec.id, nil)
        } else if let i = body.index {
            try checkSplit(body.split)
            (taskID, index) = (nil, try self.index(name, i))
        } else {
            throw APIError.invalid("give split and index, or task_spec", field: "index")
        }
        do {
            let episode = try await PackEpisode.open(
                services.environment, pack: name, taskID: taskID, index: index,
                client: ORSSessionStore.client(sid))
            try await store.bind(sid, env: name, episode: episode)
            return try JSONIO.response(["sid": sid])
        } catch let error as EnvrunError {
            throw services.mapped(error, defaultField: "task_spec")
        }
    }

    /// `/call` as server-sent events: `task_id` at once, a comment every 10 s while the tool runs, then
    /// `end` with the result. A client that reconnects with the stream's `task_id` gets the stored result.
    func call(sid: String, body: ORSWire.CallRequest) -> Response {
        SSE.response { writer in
            if let callID = body.taskID, let stored = await store.replay(sid, callID: callID) {
                try await writer.write(SSE.event("task_id", callID))
                try await writer.write(SSE.event("end", stored))
                return
            }
            let callID = UUID().uuidString
            try await writer.write(SSE.event("task_id", callID))
            let result = try await SSE.withPings(writer: &writer) { await runTool(sid: sid, callID: callID, body: body) }
            try await writer.write(SSE.event("end", result))
        }
    }

    /// Runs one tool call and returns the result's JSON; the session is busy meanwhile.
    func runTool(sid: String, callID: String, body: ORSWire.CallRequest) async -> String {
        let session: ORSSessionStore.Session
        do {
            guard let s = try await store.begin(sid) else {
                return Self.json(.failure("another call on this session is still running", reason: "bad_input_shape"))
            }
            session = s
        } catch {
            return Self.json(.failure("the session is gone", reason: "not_found"))
        }
        var episode = session.episode
        let result: ORSWire.CallResult
        do {
            result = try await tool(body, episode: &episode)
        } catch {
            result = .failure(Self.message(error), reason: error is OpenEnvError ? "input_validation" : "bad_input_shape")
        }
        let json = Self.json(result)
        await store.end(sid, episode: episode, callID: callID, reply: json)
        return json
    }

    func tool(_ body: ORSWire.CallRequest, episode: inout PackEpisode?) async throws -> ORSWire.CallResult {
        guard let current = episode else {
            return .failure("the session has no task yet: POST /create first", reason: "bad_input_shape")
        }
        let input = body.input ?? ORSWire.ToolInput()
        switch body.name {
        case "submit":
            guard let answer = input.answer ?? input.response else {
                return .failure("submit needs input.answer", reason: "input_validation")
            }
            if current.done { return .failure("the episode is finished", reason: "episode_finished") }
            let environment = services.environment
            let (step, after) = try await services.work(route: Self.route) {
                var e = current
                let step = try await e.submit(environment, response: answer)
                return (step, e)
            }
            episode = after
            let reward = step.reward
            return .success(ORSWire.Output(
                blocks: [.init(text: step.observation)],
                metadata: ORSWire.CallMetadata(
                    status: reward?.status.rawValue, maskSample: RewardMarking.isMasked(reward),
                    failureReason: RewardMarking.failureReason(reward), source: reward?.source.rawValue, turn: step.turn,
                    components: reward?.components, details: reward?.details),
                reward: RewardMarking.reward(reward), finished: step.done))
        case "run_code" where Self.hasRunCode(services, pack: current.pack):
            guard let code = input.code, !code.isEmpty else {
                return .failure("run_code needs input.code", reason: "input_validation")
            }
            var coding = OpenEnvCodingSession(services: services)
            let observation = try await coding.run(code).observation
            let text = observation.stdout + (observation.stderr.isEmpty ? "" : "\n[stderr]\n" + observation.stderr)
            return .success(ORSWire.Output(
                blocks: [.init(text: text + "\n[exit code \(observation.exitCode)]")],
                metadata: ORSWire.CallMetadata(maskSample: false, exitCode: observation.exitCode), reward: nil,
                finished: false))
        default:
            let names = tools(current.pack).map(\.name).joined(separator: ", ")
            return .failure("unknown tool '\(body.name)'; tools: \(names)", reason: "not_found")
        }
    }

    func tools(_ pack: String) -> [ORSWire.Tool] {
        var list = [ORSWire.Tool(
            name: "submit",
            description: "Submit your final answer (or, for code tasks, your complete solution); returns the reward and "
                + "whether the episode is finished.",
            inputSchema: .object(["answer": .string("the answer or solution")], required: ["answer"]))]
        if Self.hasRunCode(services, pack: pack) {
            list.append(ORSWire.Tool(
                name: "run_code", description: "Run a Python program in the sandbox (no reward); returns its output.",
                inputSchema: .object(["code": .string("a Python program")], required: ["code"])))
        }
        return list
    }

    static func hasRunCode(_ services: AppServices, pack: String) -> Bool {
        services.configuration.runCode
            && services.environment.packs().first(where: { $0.name == pack }).map { $0.verifier.hasPrefix("code") } == true
    }

    // MARK: - Requests

    func sessionID(_ request: Request) throws -> String {
        guard let sid = request.headers[HTTPField.Name("X-Session-ID")!], !sid.isEmpty else {
            throw APIError.invalid("missing X-Session-ID header", field: "X-Session-ID")
        }
        return sid
    }

    /// The environment: the `/{env}/…` path, else the `X-Deployment` header.
    func env(_ request: Request, _ context: EnvrunRequestContext) throws -> String {
        let raw = context.parameters.get("env") ?? request.headers[HTTPField.Name("X-Deployment")!]
        guard let raw, !raw.isEmpty else {
            throw APIError.invalid("name the environment: an X-Deployment header or a /{env}/ path", field: "X-Deployment")
        }
        let name = Self.stripOwner(raw)
        _ = try TaskPicker.info(services.environment, pack: name)
        return name
    }

    static func stripOwner(_ s: String) -> String { s.split(separator: "/").last.map(String.init) ?? s }

    func checkSplit(_ split: String?) throws {
        if let split, split != Self.split {
            throw APIError.invalid("unknown split '\(split)'; the only split is '\(Self.split)'", field: "split")
        }
    }

    func decodeSplit(_ buffer: ByteBuffer) throws {
        let body = buffer.readableBytes == 0 ? nil : try services.decode(ORSWire.SplitRequest.self, buffer)
        try checkSplit(body?.split)
    }

    func index(_ pack: String, _ i: Int) throws -> Int {
        let count = try TaskPicker.info(services.environment, pack: pack).taskCount
        guard (0..<count).contains(i) else { throw APIError.invalid("index \(i) is out of range 0..<\(count)", field: "index") }
        return i
    }

    /// Tasks `start..<stop` with Python's slice rules (negative counts from the end; out of range clamps).
    func taskRange(_ pack: String, _ start: Int?, _ stop: Int?) throws -> [ORSWire.TaskSpecView] {
        let count = try TaskPicker.info(services.environment, pack: pack).taskCount
        func clamp(_ v: Int?, _ fallback: Int) -> Int {
            guard let v else { return fallback }
            return min(count, max(0, v < 0 ? count + v : v))
        }
        let lo = clamp(start, 0), hi = clamp(stop, count)
        var out: [ORSWire.TaskSpecView] = []
        var offset = lo
        while offset < hi {
            let page = try services.environment.tasks(pack: pack, offset: offset, limit: min(500, hi - offset))
            if page.isEmpty { break }
            for (k, t) in page.enumerated() { out.append(Self.view(t, index: offset + k)) }
            offset += page.count
        }
        return out
    }

    static func view(_ t: TaskSpec, index: Int?) -> ORSWire.TaskSpecView {
        ORSWire.TaskSpecView(id: t.id, index: index, prompt: t.prompt, entryPoint: t.entryPoint, language: t.language)
    }

    static func json(_ result: ORSWire.CallResult) -> String {
        (try? String(decoding: JSONIO.encoder.encode(result), as: UTF8.self))
            ?? #"{"ok":false,"error":"internal","reason":"bad_input_shape"}"#
    }

    static func message(_ error: any Error) -> String {
        switch error {
        case let e as OpenEnvError: return e.message
        case let e as EnvrunError: return e.message
        case let e as APIError: return e.message
        default: return "\(error)"
        }
    }

    /// ORS errors as `{"detail"}` with their status; a gone session is 410.
    func orsErrors(_ body: () async throws -> Response) async throws -> Response {
        func detail(_ status: HTTPResponse.Status, _ message: String, _ headers: HTTPFields = [:]) throws -> Response {
            var r = try JSONIO.response(ORSWire.Detail(detail: message), status: status)
            for field in headers { r.headers.append(field) }
            return r
        }
        do {
            return try await body()
        } catch is ORSSessionStore.Gone {
            return try detail(.gone, "the session is gone (deleted, idle too long, or never made)")
        } catch let e as APIError {
            return try detail(e.status, e.field.map { "\($0): \(e.message)" } ?? e.message, e.headers)
        } catch let e as EnvrunError {
            let api = APIError(e)
            return try detail(api.status, e.message)
        }
    }
}

enum SSETick<T: Sendable>: Sendable { case ping, done(T) }

/// Server-sent events as the `openreward` client reads them: `event:` + `data:` lines, comments as pings.
enum SSE {
    static func event(_ name: String, _ data: String) -> ByteBuffer {
        // One data line: the payloads are ids and compact JSON (no raw newlines).
        ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
    }

    static func response(_ body: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await body(&writer)
                try await writer.finish(nil)
            })
    }

    /// Runs `work`, writing a `: ping` comment every `interval` until it finishes (the client drops a stream
    /// that is silent for 30 s).
    static func withPings<T: Sendable>(
        writer: inout any ResponseBodyWriter, interval: Duration = .seconds(10),
        _ work: @escaping @Sendable () async -> T
    ) async throws -> T {
        let (ticks, feed) = AsyncStream<SSETick<T>>.makeStream()
        let worker = Task {
            feed.yield(.done(await work()))
            feed.finish()
        }
        let ticker = Task {
            while true {
                try await Task.sleep(for: interval)
                feed.yield(.ping)
            }
        }
        defer { ticker.cancel() }
        for await tick in ticks {
            switch tick {
            case .done(let result): return result
            case .ping: try await writer.write(ByteBuffer(string: ": ping\n\n"))
            }
        }
        await worker.value
        throw CancellationError()
    }
}
