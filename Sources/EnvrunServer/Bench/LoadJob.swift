import EnvrunCore
import Foundation
import NIOCore
import NIOHTTP1

/// The request classes of `envrun bench load`, one row each in the report.
public enum LoadClass: String, CaseIterable, Codable, Sendable {
    /// `POST /v1/score`, 16 GSM8K or MATH-500 items, half right and half wrong.
    case math
    /// `POST /run_code` in every language the server runs: right programs, runtime and compile errors.
    case runCode = "run_code"
    /// `POST /v1/score` of HumanEval and MBPP items: reference solutions and stubs.
    case scoreCode = "score_code"
    /// Resource bombs through `/run_code`: fork, memory, output, threads, loops, disk.
    case hostile
    /// The containment attack classes through `/run_code`, one at a time in the mix.
    case attack
    /// The same attacks fired `attackBurst` at once every `attackEvery` seconds.
    case attackBurst = "attack_burst"
    /// Malformed JSON, wrong types, unknown ids and routes, oversized bodies.
    case badRequest = "bad_request"
    /// Multi-turn episodes: reset, a failing step, a passing step.
    case episode
    /// OpenRLHF's `POST /get_reward` with GSM8K labels.
    case getReward = "get_reward"

    /// Relative weights of the mix (the bursts are not part of it).
    public static let defaultWeights: [LoadClass: Int] = [
        .math: 30, .runCode: 20, .scoreCode: 8, .hostile: 10, .attack: 5, .badRequest: 12, .episode: 8,
        .getReward: 7,
    ]
}

/// One HTTP request of a job and what its answer must be.
public struct LoadRequest: Sendable {
    public enum Body: Sendable {
        case none
        /// With a Content-Length.
        case bytes(ByteBuffer)
        /// Chunked, in pieces of 64 KiB, no Content-Length.
        case chunked(ByteBuffer)
    }

    public var method: HTTPMethod
    public var path: String
    public var body: Body
    /// Judges the answer: the status and the whole body.
    public var judge: @Sendable (_ status: Int, _ body: ByteBuffer) -> Judgement

    public init(_ method: HTTPMethod, _ path: String, body: Body = .none,
                judge: @escaping @Sendable (Int, ByteBuffer) -> Judgement)
    {
        self.method = method
        self.path = path
        self.body = body
        self.judge = judge
    }

    /// A JSON body of an `Encodable` value.
    public static func json<T: Encodable>(_ path: String, _ value: T,
                                          judge: @escaping @Sendable (Int, ByteBuffer) -> Judgement) -> LoadRequest
    {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return LoadRequest(.POST, path, body: .bytes(ByteBuffer(data: data)), judge: judge)
    }
}

/// What the bench makes of one answer.
public struct Judgement: Sendable, Equatable {
    /// Items or runs that answered `sandbox_error` (our fault, never the program's).
    public var sandboxErrors = 0
    /// An answer other than the one expected (wrong status, wrong reward, missing fields).
    public var unexpected: String?
    /// A hostile program that was not contained (its verdict or output shows it got through).
    public var breach: String?
    /// Why the sandbox failed (the first `sandbox_error`'s detail), when it did.
    public var sandboxDetail: String?
    /// Values a later step of the job needs (the episode id).
    public var state: [String: String] = [:]

    public init(sandboxErrors: Int = 0, unexpected: String? = nil, breach: String? = nil) {
        self.sandboxErrors = sandboxErrors
        self.unexpected = unexpected
        self.breach = breach
    }

    public static let ok = Judgement()
    public static func wrong(_ why: String) -> Judgement { Judgement(unexpected: why) }
}

/// A unit of work of one class: one request, or several in order (an episode). A step builds its
/// request from the state earlier steps left.
public struct LoadJob: Sendable {
    public var loadClass: LoadClass
    /// The case within the class (a language, an attack, a bad-request kind).
    public var name: String
    public var steps: [@Sendable ([String: String]) -> LoadRequest]

    public init(_ loadClass: LoadClass, _ name: String, steps: [@Sendable ([String: String]) -> LoadRequest]) {
        self.loadClass = loadClass
        self.name = name
        self.steps = steps
    }

    public init(_ loadClass: LoadClass, _ name: String, _ request: LoadRequest) {
        self.init(loadClass, name, steps: [{ _ in request }])
    }
}

/// Decoding helpers of the judges.
enum Answer {
    static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) -> T? {
        try? JSONDecoder().decode(type, from: Data(buffer: body))
    }

    /// The `error.code` of a 4xx body.
    static func errorCode(_ body: ByteBuffer) -> String? {
        struct Wrapper: Decodable {
            struct Inner: Decodable { var code: String }
            var error: Inner
        }
        return decode(Wrapper.self, body)?.error.code
    }

    /// A short quote of a body for a report line.
    static func quote(_ body: ByteBuffer) -> String {
        String(decoding: body.readableBytesView.prefix(240), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
    }

    /// The reason of the first `sandbox_error` in an answer of any route (SandboxFusion's `envrun.detail`,
    /// a reward's `details.error`), for the report.
    static func sandboxErrorDetail(_ body: ByteBuffer) -> String? {
        if let r = decode(RunCodeResponse.self, body), r.envrun.verdict == .sandboxError {
            return r.envrun.detail ?? r.message
        }
        let rewards = decode(ScoreResponse.self, body)?.results ?? decode(StepResult.self, body)?.reward.map { [$0] } ?? []
        return rewards.first { $0.details["verdict"] == Verdict.sandboxError.rawValue }.map { $0.details["error"] ?? "" }
    }

    /// Counts `"verdict": "sandbox_error"` in any answer: in a reward's details (score, episodes) and in
    /// SandboxFusion's `envrun` object, whatever the route.
    static func sandboxErrors(_ body: ByteBuffer) -> Int {
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        return ["\"verdict\":\"sandbox_error\"", "\"verdict\" : \"sandbox_error\"", "\"verdict\": \"sandbox_error\""]
            .reduce(0) { $0 + text.components(separatedBy: $1).count - 1 }
    }
}
