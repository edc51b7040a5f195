import Foundation

/// Where a judge lives and how envrun treats it. Parsed from the server config or flags at the edge.
public struct JudgeEndpoint: Sendable, Equatable {
    /// The name packs refer to (`reward.judge.name`), `default` unless configured otherwise.
    public var name: String
    /// Base URL of the OpenAI-compatible API, up to and including `/v1` (e.g. `http://127.0.0.1:8000/v1`).
    public var baseURL: URL
    public var model: String
    /// Name of the environment variable holding the API key (read once at start; never logged, never passed
    /// to sandboxed jobs, which start with an empty environment).
    public var apiKeyEnv: String?
    /// Seconds one HTTP attempt may take.
    public var timeoutSeconds: Double = 60
    /// Attempts after the first, on transport errors, timeouts, 429 and 5xx.
    public var retries: Int = 2
    /// Base of the exponential backoff between attempts (full jitter: a uniform wait up to base·2^attempt).
    public var backoffSeconds: Double = 0.5
    /// Requests in flight to this judge at once; more wait (at most `queueTimeoutSeconds`).
    public var maxConcurrency: Int = 4
    public var queueTimeoutSeconds: Double = 120
    /// Consecutive failed calls that open the circuit breaker, and seconds it stays open before one trial.
    public var breakerThreshold: Int = 5
    public var breakerCooldownSeconds: Double = 30
    /// Whether the server honours `n` (llama.cpp's does not; vLLM, SGLang and hosted APIs do).
    public var honoursN: Bool = false
    /// How constrained decoding is sent: `grammar` (llama.cpp GBNF), `structured_outputs` (vLLM ≥ 0.10),
    /// `guided_regex` (older vLLM), `regex` (SGLang), or `none`.
    public var constraintField: ConstraintField = .none
    /// The largest judge reply body read, in bytes.
    public var maxReplyBytes: Int = 4 * 1024 * 1024

    public enum ConstraintField: String, Sendable, Equatable, CaseIterable {
        case none, grammar
        case structuredOutputs = "structured_outputs"
        case guidedRegex = "guided_regex"
        case regex
    }

    public init(name: String = "default", baseURL: URL, model: String) {
        self.name = name
        self.baseURL = baseURL
        self.model = model
    }

    /// The API key, from the named environment variable of this process.
    /// The base URL without user info or query (where a careless config might put a key), for messages.
    public var displayURL: String {
        guard var c = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { return "(judge url)" }
        c.user = nil
        c.password = nil
        c.query = nil
        c.fragment = nil
        return c.string ?? "(judge url)"
    }

    public func apiKey(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let apiKeyEnv, let key = environment[apiKeyEnv], !key.isEmpty else { return nil }
        return key
    }
}
