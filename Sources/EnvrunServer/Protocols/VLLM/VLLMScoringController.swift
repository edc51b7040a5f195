import EnvrunCore
import Foundation
import Hummingbird
import NIOCore

/// vLLM's scoring routes over envrun's scalar reward models, so that trainers' discriminative-RM paths
/// (verl's `reward_model` on a remote `/classify`) can call them: `POST /classify` and `/v1/classify`
/// (`input`: a string or a list, or chat `messages`), `POST /pooling` and `/v1/pooling`.
///
/// `model` names a pack whose reward is a scalar RM (default: the server's `unlabeled_pack`). Each input is
/// split into prompt and response at its last assistant turn (chat `messages`; HH-style `Assistant:`; ChatML
/// `<|im_start|>assistant`), which is how envrun's RM embeds them. `probs` holds one number, the pack's
/// reward (verl reads `data[-1].probs[-1]`); `use_activation`/`activation` are accepted and do not change
/// it. A check that failed on envrun's side is a 503 (verl retries 5xx), never a number.
struct VLLMScoringController {
    let services: AppServices

    struct Message: Decodable, Sendable {
        var role: String
        var content: String?
    }

    struct Request: Decodable, Sendable {
        var model: String?
        var input: [String]?
        var messages: [Message]?
        enum CodingKeys: String, CodingKey { case model, input, messages }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            model = try c.decodeIfPresent(String.self, forKey: .model)
            if let one = try? c.decode(String.self, forKey: .input) { input = [one] }
            else { input = try c.decodeIfPresent([String].self, forKey: .input) }
            messages = try c.decodeIfPresent([Message].self, forKey: .messages)
        }
    }

    struct Usage: Encodable {
        var promptTokens = 0
        var totalTokens = 0
        var completionTokens = 0
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case totalTokens = "total_tokens"
            case completionTokens = "completion_tokens"
        }
    }
    struct ClassifyItem: Encodable {
        var index: Int
        var label: String?
        var probs: [Double]
        var numClasses: Int
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(label, forKey: .label)
            try c.encode(probs, forKey: .probs)
            try c.encode(numClasses, forKey: .numClasses)
        }
        enum CodingKeys: String, CodingKey {
            case index, label, probs
            case numClasses = "num_classes"
        }
    }
    struct PoolingItem: Encodable { var index: Int; var object = "pooling"; var data: [Double] }
    struct Reply<Item: Encodable>: Encodable {
        var id: String
        var object = "list"
        var created: Int
        var model: String
        var data: [Item]
        var usage = Usage()
    }

    func addRoutes(to router: Router<EnvrunRequestContext>) {
        for path in ["/classify", "/v1/classify"] {
            router.post(RouterPath(path)) { request, context in
                try await services.run(request, context, route: "/classify", parse: parse) { pack, pairs in
                    let rewards = try await score(pack: pack, pairs)
                    return try JSONIO.response(Reply(
                        id: "classify-\(UUID().uuidString)", created: Int(Date().timeIntervalSince1970), model: pack,
                        data: rewards.enumerated().map { ClassifyItem(index: $0, label: nil, probs: [$1], numClasses: 1) }))
                }
            }
        }
        for path in ["/pooling", "/v1/pooling"] {
            router.post(RouterPath(path)) { request, context in
                try await services.run(request, context, route: "/pooling", parse: parse) { pack, pairs in
                    let rewards = try await score(pack: pack, pairs)
                    return try JSONIO.response(Reply(
                        id: "pooling-\(UUID().uuidString)", created: Int(Date().timeIntervalSince1970), model: pack,
                        data: rewards.enumerated().map { PoolingItem(index: $0, data: [$1]) }))
                }
            }
        }
    }

    func parse(_ buffer: ByteBuffer) throws -> (String, [(prompt: String, response: String)]) {
        let body = try services.decode(Request.self, buffer, maxItems: services.configuration.maxBatchItems)
        let pack = body.model ?? services.configuration.unlabeledPack
        guard let info = services.environment.packs().first(where: { $0.name == pack }) else {
            throw APIError(.notFound, code: "not_found", "model '\(pack)' is not a pack of this server", field: "model")
        }
        guard ["scalar_rm", "hybrid"].contains(info.verifier) else {
            throw APIError.invalid("pack '\(pack)' is scored by \(info.verifier), not a scalar reward model", field: "model")
        }
        if let messages = body.messages {
            return (pack, [Self.split(messages)])
        }
        guard let inputs = body.input, !inputs.isEmpty else {
            throw APIError.invalid("give input (a string or a list of strings) or messages", field: "input")
        }
        return (pack, inputs.map(Self.split))
    }

    /// Scores each pair as an inline task of `pack`; a failed check is a 503.
    func score(pack: String, _ pairs: [(prompt: String, response: String)]) async throws -> [Double] {
        let items = pairs.enumerated().map { i, pair in
            ScoreItem(pack: pack, task: TaskSpec(id: "classify-\(i)", prompt: pair.prompt), response: pair.response)
        }
        let results = await services.scorer.score(items)
        if let failed = results.first(where: { $0.status != .ok }) {
            let why = failed.details["error"] ?? failed.details["reason"] ?? failed.status.rawValue
            throw APIError(.serviceUnavailable, code: "score_failed", "the reward model could not score an input: \(why)",
                           headers: [.retryAfter: String(services.configuration.retryAfterSeconds)])
        }
        return results.map(\.reward)
    }

    /// Chat messages: the last assistant message is the response, the turns before it (HH style) the prompt.
    static func split(_ messages: [Message]) -> (prompt: String, response: String) {
        guard let last = messages.lastIndex(where: { $0.role == "assistant" }) else {
            return (render(messages), "")
        }
        return (render(Array(messages[..<last])), messages[last].content ?? "")
    }

    static func render(_ messages: [Message]) -> String {
        let turns = messages.map { m in "\(m.role == "assistant" ? "Assistant" : "Human"): \(m.content ?? "")" }
        return turns.isEmpty ? "" : turns.joined(separator: "\n\n") + "\n\nAssistant:"
    }

    /// A chat-templated string: split after its last assistant marker; without one it is all response.
    static func split(_ text: String) -> (prompt: String, response: String) {
        for marker in ["<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n", "\n\nAssistant:"] {
            if let r = text.range(of: marker, options: .backwards) {
                var response = String(text[r.upperBound...])
                for end in ["<|im_end|>", "<|eot_id|>"] where response.hasSuffix(end) { response.removeLast(end.count) }
                let prompt = marker == "\n\nAssistant:"
                    ? String(text[..<r.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines) + marker
                    : String(text[..<r.lowerBound])
                return (prompt, response.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return ("", text)
    }
}
