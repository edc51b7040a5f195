import EnvrunCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A scalar reward model served by vLLM (`vllm serve MODEL --runner pooling`), over HTTP.
///
/// - `/classify` (sequence-classification reward models): request `{"model", "input": [text, …]}`, response
///   `{"data": [{"index", "label", "probs": [..], "num_classes"}]}`; the reward is `probs[classIndex]`
///   (default: the last class, which is the only one for single-logit reward models).
/// - `/pooling` (reward models with token-level or last-token pooling): request `{"model", "input": [..]}`,
///   response `{"data": [{"index", "object": "pooling", "data": x}]}` where x is a number, a vector or a
///   per-token matrix; the reward is the last number (the final token's score).
/// The text sent is `template` with `{prompt}` and `{response}` replaced (the model's chat format goes here).
/// Transport errors, 429 and 5xx are retried with exponential backoff; other statuses fail at once.
public struct VLLMRewardModel: ScalarRewardModel {
    public enum Endpoint: String, Sendable, Codable { case classify, pooling }

    public struct Config: Sendable {
        public var baseURL: URL
        public var model: String
        public var endpoint: Endpoint = .classify
        public var template = "{prompt}{response}"
        public var classIndex: Int?
        public var timeoutSeconds: Double = 30
        public var maxRetries = 3
        public var backoffSeconds: Double = 0.25
        public var maxBatch = 64
        public var apiKey: String?

        public init(baseURL: URL, model: String) {
            self.baseURL = baseURL
            self.model = model
        }
    }

    public let config: Config
    public var name: String { "vllm:\(config.model)" }
    let session: URLSession

    public init(_ config: Config) {
        self.config = config
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = config.timeoutSeconds
        c.timeoutIntervalForResource = config.timeoutSeconds
        session = URLSession(configuration: c)
    }

    /// `GET /version` → the server's vLLM version string.
    public func probeVersion() async throws -> String {
        let data = try await send(method: "GET", path: "version", body: nil)
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let v = obj["version"] as? String
        else { throw EnvrunError(.unavailable, "GET /version did not return {\"version\": …}", field: config.baseURL.absoluteString) }
        return v
    }

    public func scores(prompts: [String], responses: [String]) async throws -> [Double] {
        guard prompts.count == responses.count else {
            throw EnvrunError(.invalidInput, "\(prompts.count) prompts but \(responses.count) responses", field: "responses")
        }
        let texts = zip(prompts, responses).map { p, r in
            config.template.replacingOccurrences(of: "{prompt}", with: p).replacingOccurrences(of: "{response}", with: r)
        }
        var out: [Double] = []
        var start = 0
        while start < texts.count {
            let chunk = Array(texts[start..<min(texts.count, start + max(1, config.maxBatch))])
            out += try await scoreChunk(chunk)
            start += chunk.count
        }
        return out
    }

    func scoreChunk(_ texts: [String]) async throws -> [Double] {
        let body = try JSONSerialization.data(withJSONObject: ["model": config.model, "input": texts])
        let data = try await send(method: "POST", path: config.endpoint.rawValue, body: body)
        return try Self.parse(data, endpoint: config.endpoint, count: texts.count, classIndex: config.classIndex)
    }

    /// Parses a `/classify` or `/pooling` response into one reward per input, ordered by `index`.
    public static func parse(_ data: Data, endpoint: Endpoint, count: Int, classIndex: Int?) throws -> [Double] {
        func bad(_ m: String) -> EnvrunError { EnvrunError(.unavailable, "vLLM /\(endpoint.rawValue): \(m)", field: "response") }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let items = obj["data"] as? [[String: Any]]
        else { throw bad("response has no data array") }
        guard items.count == count else { throw bad("\(items.count) results for \(count) inputs") }
        var out = [Double?](repeating: nil, count: count)
        for (pos, item) in items.enumerated() {
            let index = (item["index"] as? NSNumber)?.intValue ?? pos
            guard index >= 0, index < count, out[index] == nil else { throw bad("bad or repeated index \(index)") }
            switch endpoint {
            case .classify:
                guard let probs = (item["probs"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.doubleValue }), !probs.isEmpty
                else { throw bad("result \(index) has no probs") }
                let k = classIndex ?? probs.count - 1
                guard k >= 0, k < probs.count else { throw bad("class index \(k) outside \(probs.count) classes") }
                out[index] = probs[k]
            case .pooling:
                guard let value = lastNumber(item["data"]) else { throw bad("result \(index) has no numeric data") }
                out[index] = value
            }
        }
        return out.map { $0! }
    }

    static func lastNumber(_ any: Any?) -> Double? {
        if let n = any as? NSNumber { return n.doubleValue }
        if let a = any as? [Any] { return a.last.flatMap { lastNumber($0) } }
        return nil
    }

    func send(method: String, path: String, body: Data?) async throws -> Data {
        let url = config.baseURL.appendingPathComponent(path)
        var lastError = ""
        for attempt in 0...max(0, config.maxRetries) {
            if attempt > 0 {
                let delay = config.backoffSeconds * pow(2, Double(attempt - 1))
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
            var request = URLRequest(url: url, timeoutInterval: config.timeoutSeconds)
            request.httpMethod = method
            if let body {
                request.httpBody = body
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            if let key = config.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
            let data: Data
            let response: URLResponse
            do { (data, response) = try await session.data(for: request) } catch let error as URLError {
                lastError = error.code == .timedOut
                    ? "timed out after \(config.timeoutSeconds) s" : "transport error \(error.code.rawValue): \(error.localizedDescription)"
                continue
            } catch {
                lastError = "\(error)"
                continue
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if (200..<300).contains(status) { return data }
            let text = String(decoding: data.prefix(300), as: UTF8.self)
            if status == 429 || status >= 500 {
                lastError = "HTTP \(status): \(text)"
                continue
            }
            throw EnvrunError(.invalidInput, "\(method) /\(path): HTTP \(status): \(text)", field: url.absoluteString)
        }
        throw EnvrunError(
            .unavailable, "\(method) /\(path) failed after \(config.maxRetries + 1) attempts: \(lastError)",
            field: url.absoluteString)
    }
}
