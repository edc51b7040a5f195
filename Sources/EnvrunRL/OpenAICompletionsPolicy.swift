import AsyncHTTPClient
import EnvrunCore
import Foundation
import NIOCore

/// Rollouts from an OpenAI-compatible `/v1/completions` server with token log-probs: the local
/// llama.cpp server (llama-cpp-python) with SmolLM2-135M, vLLM or SGLang. One request per sample (the
/// llama.cpp server ignores `n`), `samples` at a time per prompt. Token ids: vLLM returns them with
/// `return_tokens_as_token_ids` ("token_id:42"); otherwise the prompt and each returned token piece are
/// tokenised through the server's `/extras/tokenize` (llama-cpp-python) or `/tokenize` (vLLM, SGLang).
public struct OpenAICompletionsPolicy: Policy {
    public var baseURL: URL
    public var model: String
    public var maxTokens: Int
    public var temperature: Double
    public var timeoutSeconds: Double
    public var concurrency: Int
    public var seed: UInt64
    public var policyVersion: Int = 0
    var calls: UInt64 = 0
    public var name: String { "openai" }

    public init(baseURL: URL, model: String, maxTokens: Int = 128, temperature: Double = 1, timeoutSeconds: Double = 120,
                concurrency: Int = 4, seed: UInt64 = 1) {
        self.baseURL = baseURL
        self.model = model
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.timeoutSeconds = timeoutSeconds
        self.concurrency = concurrency
        self.seed = seed
    }

    static let http: HTTPClient = {
        var c = HTTPClient.Configuration()
        c.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }()

    func post(_ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        // "completions" hangs off the /v1 base; "/extras/tokenize" and "/tokenize" off the server root.
        let url = path.hasPrefix("/") ? rootURL + path : baseURL.appendingPathComponent(path).absoluteString
        var req = HTTPClientRequest(url: url)
        req.method = .POST
        req.headers.add(name: "content-type", value: "application/json")
        if let key = ProcessInfo.processInfo.environment["ENVRUN_POLICY_API_KEY"] {
            req.headers.add(name: "authorization", value: "Bearer \(key)")
        }
        req.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let resp: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            resp = try await Self.http.execute(req, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            bytes = try await resp.body.collect(upTo: 16 << 20)
        } catch {
            throw EnvrunError(.unavailable, "policy server \(baseURL.absoluteString) \(path): \(error)", field: "policy_url")
        }
        guard resp.status.code == 200 else {
            throw EnvrunError(.unavailable, "policy server \(path) answered \(resp.status.code): \(String(buffer: bytes).prefix(300))", field: "policy_url")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any] else {
            throw EnvrunError(.unavailable, "policy server \(path) answered with something that is not a JSON object", field: "policy_url")
        }
        return obj
    }

    var rootURL: String {
        var s = baseURL.absoluteString
        while s.hasSuffix("/") { s.removeLast() }
        if s.hasSuffix("/v1") { s.removeLast(3) }
        return s
    }

    /// Token ids of a text, through whichever tokenise route the server has.
    func tokenize(_ text: String) async throws -> [Int] {
        if let r = try? await post("/extras/tokenize", ["input": text, "model": model]), let t = r["tokens"] as? [Int] { return t }
        let r = try await post("/tokenize", ["prompt": text, "model": model, "add_special_tokens": false])
        guard let t = r["tokens"] as? [Int] else {
            throw EnvrunError(.unavailable, "the policy server has no tokenize route (/extras/tokenize or /tokenize)", field: "policy_url")
        }
        return t
    }

    struct Completion { var text: String; var pieces: [String]; var logprobs: [Double]; var truncated: Bool }

    func complete(_ prompt: String, seed: UInt64) async throws -> Completion {
        let body: [String: Any] = [
            "model": model, "prompt": prompt, "max_tokens": maxTokens, "temperature": temperature, "logprobs": 1,
            "seed": Int(seed & 0x7FFF_FFFF), "return_tokens_as_token_ids": true,
        ]
        let r = try await post("completions", body)
        guard let choices = r["choices"] as? [[String: Any]], let c = choices.first, let text = c["text"] as? String,
            let lp = c["logprobs"] as? [String: Any], let pieces = lp["tokens"] as? [String],
            let values = lp["token_logprobs"] as? [Any]
        else {
            throw EnvrunError(.unavailable, "the completion has no choices[0].text with logprobs.tokens and token_logprobs (does the server support logprobs?)", field: "policy_url")
        }
        let logprobs = values.map { ($0 as? NSNumber)?.doubleValue ?? 0 }
        return Completion(text: text, pieces: pieces, logprobs: logprobs, truncated: (c["finish_reason"] as? String) == "length")
    }

    /// Response token ids: "token_id:N" pieces parse; text pieces are tokenised one by one and kept when
    /// each is exactly one token, otherwise the whole text is tokenised and marked not aligned.
    func responseIDs(_ c: Completion) async throws -> (ids: [Int], aligned: Bool) {
        let parsed = c.pieces.compactMap { p -> Int? in p.hasPrefix("token_id:") ? Int(p.dropFirst(9)) : nil }
        if parsed.count == c.pieces.count { return (parsed, true) }
        var ids: [Int] = []
        var known: [String: [Int]] = [:]
        for p in c.pieces {
            let t: [Int]
            if let k = known[p] { t = k } else { t = try await tokenize(p); known[p] = t }
            guard t.count == 1 else {
                return (try await tokenize(c.text), false)
            }
            ids.append(t[0])
        }
        return (ids, true)
    }

    public mutating func rollouts(for prompts: [PolicyPrompt], samples: Int) async throws -> [PolicySample] {
        let me = self
        let base = seed &+ calls &* 0x9E37_79B9
        calls &+= 1
        let jobs = prompts.enumerated().flatMap { i, p in (0..<samples).map { (i * samples + $0, p) } }
        var out = [PolicySample?](repeating: nil, count: jobs.count)
        var promptIDs: [String: [Int]] = [:]
        for p in prompts where promptIDs[p.text] == nil { promptIDs[p.text] = try await tokenize(p.text) }
        let ids = promptIDs
        try await withThrowingTaskGroup(of: (Int, PolicySample).self) { group in
            var next = 0
            func add() {
                let (k, p) = jobs[next]
                next += 1
                group.addTask {
                    let c = try await me.complete(p.text, seed: base &+ UInt64(k))
                    let (rid, aligned) = try await me.responseIDs(c)
                    return (k, PolicySample(
                        promptIDs: ids[p.text] ?? [], responseIDs: rid, responseText: c.text, logprobs: c.logprobs,
                        truncated: c.truncated, idsAligned: aligned, policyVersion: me.policyVersion))
                }
            }
            while next < min(max(1, concurrency), jobs.count) { add() }
            while let (k, s) = try await group.next() {
                out[k] = s
                if next < jobs.count { add() }
            }
        }
        return out.map { $0! }
    }
}
