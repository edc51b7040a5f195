import EnvrunCore
import EnvrunJudge
import Foundation

/// One entry of the config file's `judges:` (or the `--judge-*` flags): where an OpenAI-compatible judge
/// lives and how to call it. The API key is named by its environment variable, never written down.
public struct JudgeConfig: Codable, Sendable, Equatable {
    public var name: String?
    public var url: String
    public var model: String
    public var apiKeyEnv: String?
    public var timeoutSeconds: Double?
    public var retries: Int?
    public var maxConcurrency: Int?
    public var breakerThreshold: Int?
    public var breakerCooldownSeconds: Double?
    public var honoursN: Bool?
    public var constraintField: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, url, model, retries
        case apiKeyEnv = "api_key_env"
        case timeoutSeconds = "timeout_seconds"
        case maxConcurrency = "max_concurrency"
        case breakerThreshold = "breaker_threshold"
        case breakerCooldownSeconds = "breaker_cooldown_seconds"
        case honoursN = "honours_n"
        case constraintField = "constraint_field"
    }

    public init(name: String? = nil, url: String, model: String, apiKeyEnv: String? = nil) {
        self.name = name
        self.url = url
        self.model = model
        self.apiKeyEnv = apiKeyEnv
    }

    /// The checked endpoint: an http(s) URL, sane limits, a known constraint field.
    public func endpoint() throws(ConfigurationError) -> JudgeEndpoint {
        let name = self.name ?? "default"
        func bad(_ what: String) -> ConfigurationError {
            ConfigurationError("judge \(name): \(what)", field: "judges")
        }
        guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", options: .regularExpression) != nil else {
            throw bad("the name must be letters, digits, '.', '_' or '-' (it labels metrics)")
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              parsed.host?.isEmpty == false
        else { throw bad("url must be an http:// or https:// URL such as http://127.0.0.1:8000/v1 (got \"\(url)\")") }
        guard parsed.user == nil, parsed.password == nil, parsed.query == nil, parsed.fragment == nil else {
            throw bad("url must not carry user info, a query or a fragment (put the key in the variable api_key_env names)")
        }
        guard !model.isEmpty else { throw bad("model is empty") }
        var e = JudgeEndpoint(name: name, baseURL: parsed, model: model)
        if let apiKeyEnv {
            guard apiKeyEnv.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw bad("api_key_env must be the name of an environment variable (not the key itself)")
            }
            e.apiKeyEnv = apiKeyEnv
        }
        if let v = timeoutSeconds {
            guard v > 0, v <= 3600 else { throw bad("timeout_seconds must be in (0, 3600]") }
            e.timeoutSeconds = v
        }
        if let v = retries {
            guard (0...10).contains(v) else { throw bad("retries must be 0 to 10") }
            e.retries = v
        }
        if let v = maxConcurrency {
            guard (1...1024).contains(v) else { throw bad("max_concurrency must be 1 to 1024") }
            e.maxConcurrency = v
        }
        if let v = breakerThreshold {
            guard (1...1000).contains(v) else { throw bad("breaker_threshold must be 1 to 1000") }
            e.breakerThreshold = v
        }
        if let v = breakerCooldownSeconds {
            guard v >= 0, v <= 3600 else { throw bad("breaker_cooldown_seconds must be 0 to 3600") }
            e.breakerCooldownSeconds = v
        }
        if let honoursN { e.honoursN = honoursN }
        if let constraintField {
            guard let field = JudgeEndpoint.ConstraintField(rawValue: constraintField) else {
                let known = JudgeEndpoint.ConstraintField.allCases.map(\.rawValue).joined(separator: ", ")
                throw bad("constraint_field must be one of \(known) (got \"\(constraintField)\")")
            }
            e.constraintField = field
        }
        return e
    }
}
