import EnvrunCore

/// One chat message of an OpenAI-compatible `/v1/chat/completions` request.
public struct ChatMessage: Codable, Sendable, Equatable, Hashable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A constraint on the judge's output in the forms servers take; the client sends the one its server
/// understands (`JudgeEndpoint.constraintField`) and drops the other.
public struct OutputConstraint: Sendable, Equatable, Hashable {
    /// GBNF grammar (llama.cpp server: `grammar`).
    public var grammar: String?
    /// A regex of the whole output (vLLM: `structured_outputs.regex`; SGLang: `regex`).
    public var regex: String?
    public init(grammar: String? = nil, regex: String? = nil) {
        self.grammar = grammar
        self.regex = regex
    }
}

public struct ChatRequest: Sendable, Equatable {
    public var messages: [ChatMessage]
    public var temperature: Double
    public var seed: UInt64?
    public var maxTokens: Int
    /// Completions wanted from this one prompt; servers that ignore `n` return one.
    public var n: Int
    public var constraint: OutputConstraint?

    public init(
        messages: [ChatMessage], temperature: Double = 0, seed: UInt64? = nil, maxTokens: Int = 512, n: Int = 1,
        constraint: OutputConstraint? = nil
    ) {
        self.messages = messages
        self.temperature = temperature
        self.seed = seed
        self.maxTokens = maxTokens
        self.n = n
        self.constraint = constraint
    }
}

public struct ChatChoice: Sendable, Equatable {
    public var text: String
    /// `stop`, `length`, … as the server reports it (nil when it does not say).
    public var finishReason: String?
    public init(text: String, finishReason: String? = nil) {
        self.text = text
        self.finishReason = finishReason
    }
}

/// Why a judge call failed. A failure is never a score: callers turn it into `status: error`.
public struct JudgeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }
        public static let timeout = Code("timeout")
        public static let transport = Code("transport")
        public static let http = Code("http")
        public static let badResponse = Code("bad_response")
        /// The circuit breaker is open: recent calls failed; this one was not sent.
        public static let breakerOpen = Code("breaker_open")
        /// Every concurrency slot stayed busy for the whole queue timeout.
        public static let busy = Code("busy")
        public static let cancelled = Code("cancelled")
    }
    public let code: Code
    public let message: String
    /// The HTTP status, for `http` errors.
    public internal(set) var status: Int?
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}

/// The seam to the judge LLM: the real client speaks HTTP to an OpenAI-compatible server; tests may pass
/// an in-memory one.
public protocol ChatCompletionClient: Sendable {
    /// The model name, as results and cache keys name it.
    var model: String { get }
    /// Whether the server returns `n` completions for one request (vLLM, SGLang, hosted APIs do; the
    /// llama.cpp server does not).
    var honoursN: Bool { get }
    func complete(_ request: ChatRequest) async throws(JudgeError) -> [ChatChoice]
}
