import EnvrunCore

/// `POST /v1/score` body: `{"items": [{"pack", "task_id" | "task", "response"}, …]}`.
public struct ScoreRequest: Codable, Sendable, Equatable {
    public var items: [ScoreItem]
    public init(items: [ScoreItem]) { self.items = items }
}

/// `POST /v1/score` answer: one `RewardResult` per item, in order.
public struct ScoreResponse: Codable, Sendable, Equatable {
    public var results: [RewardResult]
    public init(results: [RewardResult]) { self.results = results }
}

/// `POST /v1/episodes` body.
public struct ResetRequest: Codable, Sendable, Equatable {
    public var pack: String
    public var taskID: String
    public init(pack: String, taskID: String) {
        self.pack = pack
        self.taskID = taskID
    }
    enum CodingKeys: String, CodingKey {
        case pack
        case taskID = "task_id"
    }
}

/// `POST /v1/episodes/{id}/step` body.
public struct StepRequest: Codable, Sendable, Equatable {
    public var action: String
    public init(action: String) { self.action = action }
}

/// `GET /v1/packs` answer.
public struct PacksResponse: Codable, Sendable, Equatable {
    public var packs: [PackInfo]
}

/// `GET /v1/packs/{pack}/tasks?offset=&limit=` answer.
public struct TasksPage: Codable, Sendable, Equatable {
    public var pack: String
    public var offset: Int
    public var limit: Int
    public var total: Int
    public var tasks: [TaskSpec]
    /// The offset of the next page, absent on the last one.
    public var nextOffset: Int?

    enum CodingKeys: String, CodingKey {
        case pack, offset, limit, total, tasks
        case nextOffset = "next_offset"
    }
}

/// `GET /healthz` answer.
public struct HealthResponse: Codable, Sendable, Equatable {
    public var status: String
    public var packs: [String]
    public var inFlight: Int
    public var queued: Int

    enum CodingKeys: String, CodingKey {
        case status, packs
        case inFlight = "in_flight"
        case queued
    }
}
