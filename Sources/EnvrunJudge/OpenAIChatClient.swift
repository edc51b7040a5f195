import AsyncHTTPClient
import EnvrunCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A client for any OpenAI-compatible `/v1/chat/completions` server (vLLM, SGLang, llama.cpp, hosted APIs),
/// on async-http-client. Per call: a concurrency slot (`maxConcurrency`), the circuit breaker, then up to
/// `1 + retries` attempts with full-jitter exponential backoff on transport errors, timeouts, 429 and 5xx.
/// Other 4xx fail at once (a bad request does not get better by repeating it). The API key goes only into
/// the `Authorization` header: it is not in `description`, logs or errors.
public final class OpenAIChatClient: ChatCompletionClient, CustomStringConvertible {
    public let endpoint: JudgeEndpoint
    public let breaker: CircuitBreaker
    public let gate: ConcurrencyGate
    let apiKey: String?
    let http: HTTPClient
    let logger: Logger

    public var model: String { endpoint.model }
    public var honoursN: Bool { endpoint.honoursN }
    public var description: String { "judge \(endpoint.name) (\(endpoint.model) at \(endpoint.displayURL))" }

    public init(
        endpoint: JudgeEndpoint, http: HTTPClient = OpenAIChatClient.sharedHTTP,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "envrun.judge")
    ) {
        self.endpoint = endpoint
        self.http = http
        self.logger = logger
        self.apiKey = endpoint.apiKey(environment: environment)
        breaker = CircuitBreaker(threshold: endpoint.breakerThreshold, cooldown: .seconds(endpoint.breakerCooldownSeconds))
        gate = ConcurrencyGate(limit: endpoint.maxConcurrency)
    }

    /// The judges' HTTP client, for the life of the process. Unlike `HTTPClient.shared` it does not retry a
    /// failed connect until the request's deadline (async-http-client's default): a judge that refuses
    /// connections fails in milliseconds, and this client's own retries, backoff and breaker take over.
    public static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public func complete(_ request: ChatRequest) async throws(JudgeError) -> [ChatChoice] {
        guard breaker.permit() else {
            throw JudgeError(.breakerOpen, "\(description) failed \(endpoint.breakerThreshold) calls in a row; not called for \(Int(endpoint.breakerCooldownSeconds)) s")
        }
        guard await gate.acquire(timeout: .seconds(endpoint.queueTimeoutSeconds)) else {
            breaker.abandoned()
            if Task.isCancelled { throw JudgeError(.cancelled, "the request was cancelled") }
            throw JudgeError(.busy, "all \(endpoint.maxConcurrency) slots of \(description) stayed busy for \(Int(endpoint.queueTimeoutSeconds)) s")
        }
        defer { gate.release() }
        do {
            let choices = try await withRetries(body: try Self.body(request, endpoint: endpoint))
            breaker.succeeded()
            return choices
        } catch let error where error.code == .cancelled {
            breaker.abandoned()
            throw error
        } catch let error where error.code == .http && (400..<500).contains(error.status ?? 0)
            && ![408, 429].contains(error.status ?? 0)
        {
            // The judge answered: it is alive, the request was refused (too long for its context, a bad
            // model name). Counting that would let one oversized response open the breaker for every pack.
            breaker.succeeded()
            throw error
        } catch {
            if breaker.failed() {
                logger.warning("judge circuit breaker opened", metadata: ["judge": "\(endpoint.name)", "error": "\(error.message.prefix(200))"])
            }
            throw error
        }
    }

    func withRetries(body: Data) async throws(JudgeError) -> [ChatChoice] {
        var last = JudgeError(.transport, "no attempt made")
        for attempt in 0...max(0, endpoint.retries) {
            if attempt > 0 {
                // Full jitter: uniform in [0, base·2^(attempt-1)], so many clients do not retry in step.
                let cap = endpoint.backoffSeconds * pow(2, Double(attempt - 1))
                do { try await Task.sleep(for: .seconds(Double.random(in: 0...cap))) } catch {
                    throw JudgeError(.cancelled, "the request was cancelled")
                }
            }
            do {
                return try await attemptOnce(body: body)
            } catch let error {
                guard error.retryable else { throw error }
                last = error
                logger.debug("judge attempt failed", metadata: ["attempt": "\(attempt + 1)", "error": "\(error.message.prefix(200))"])
            }
        }
        throw JudgeError(last.code, "\(last.message) (after \(endpoint.retries + 1) attempts)")
    }

    func attemptOnce(body: Data) async throws(JudgeError) -> [ChatChoice] {
        var request = HTTPClientRequest(url: endpoint.baseURL.appendingPathComponent("chat/completions").absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: HTTPResponseStatus
        let bytes: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(endpoint.timeoutSeconds * 1000)))
            status = response.status
            bytes = try await response.body.collect(upTo: endpoint.maxReplyBytes)
        } catch {
            if Task.isCancelled { throw JudgeError(.cancelled, "the request was cancelled") }
            if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
                throw JudgeError(.timeout, "no answer within \(endpoint.timeoutSeconds) s")
            }
            if error is NIOTooManyBytesError {
                throw JudgeError(.badResponse, "reply over \(endpoint.maxReplyBytes) bytes")
            }
            throw JudgeError(.transport, "\(error)".prefix(300).description)
        }
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(Int(status.code)) else {
            let text = String(decoding: data.prefix(300), as: UTF8.self)
            throw JudgeError(.http, "HTTP \(status.code): \(text)", status: Int(status.code))
        }
        return try Self.parseReply(data)
    }

    /// The request body: messages, sampling settings and the constraint in the server's field.
    static func body(_ r: ChatRequest, endpoint: JudgeEndpoint) throws(JudgeError) -> Data {
        var object: [String: Any] = [
            "model": endpoint.model,
            "messages": r.messages.map { ["role": $0.role, "content": $0.content] },
            "temperature": r.temperature,
            "max_tokens": r.maxTokens,
            "stream": false,
        ]
        if let seed = r.seed { object["seed"] = Int(truncatingIfNeeded: seed & 0x7FFF_FFFF) }
        if r.n > 1 { object["n"] = r.n }
        switch endpoint.constraintField {
        case .grammar: object["grammar"] = r.constraint?.grammar
        case .structuredOutputs: object["structured_outputs"] = r.constraint?.regex.map { ["regex": $0] }
        case .guidedRegex: object["guided_regex"] = r.constraint?.regex
        case .regex: object["regex"] = r.constraint?.regex
        case .none: break
        }
        do { return try JSONSerialization.data(withJSONObject: object) } catch {
            throw JudgeError(.badResponse, "cannot encode the request: \(error)")
        }
    }

    /// `{"choices": [{"message": {"content": …}, "finish_reason": …}]}` → the choices' texts.
    public static func parseReply(_ data: Data) throws(JudgeError) -> [ChatChoice] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let choices = object["choices"] as? [[String: Any]], !choices.isEmpty
        else {
            throw JudgeError(.badResponse, "reply has no choices: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return try choices.map { (c: [String: Any]) throws(JudgeError) -> ChatChoice in
            let message = c["message"] as? [String: Any]
            guard let text = (message?["content"] as? String) ?? (c["text"] as? String) else {
                throw JudgeError(.badResponse, "a choice has no message content")
            }
            return ChatChoice(text: text, finishReason: c["finish_reason"] as? String)
        }
    }
}

extension JudgeError {
    init(_ code: Code, _ message: String, status: Int) {
        self.init(code, message)
        self.status = status
    }

    /// Transport errors, timeouts, 429 and 5xx may pass; other answers will not change on a retry.
    var retryable: Bool {
        switch code {
        case .transport, .timeout: return true
        case .http: return status == 429 || (status ?? 0) >= 500
        default: return false
        }
    }
}
