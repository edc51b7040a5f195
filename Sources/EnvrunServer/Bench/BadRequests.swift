import EnvrunCore
import NIOCore

/// The bad requests of `envrun bench load`: each a client's fault with the 4xx (and error code) the
/// README's bad-input table gives it; an unknown task inside a score batch fails only its item (200).
enum BadRequests {
    struct Case: Sendable {
        var name: String
        var make: @Sendable (LoadWorkload) -> LoadRequest
    }

    static func raw(_ path: String, _ text: String, status: Int, code: String?) -> LoadRequest {
        LoadRequest(.POST, path, body: .bytes(ByteBuffer(string: text))) { s, body in refused(s, body, status, code) }
    }

    static func refused(_ s: Int, _ body: ByteBuffer, _ status: Int, _ code: String?) -> Judgement {
        var j = Judgement(sandboxErrors: Answer.sandboxErrors(body))
        let got = Answer.errorCode(body)
        if s != status || (code != nil && got != code) {
            j.unexpected = "status \(s) \(got ?? "-"), expected \(status) \(code ?? "")"
        }
        return j
    }

    /// A body of `bytes` bytes that is valid JSON up to the end: `{"items": [...], "pad": "xxxx…"}`.
    static func oversized(_ bytes: Int) -> ByteBuffer {
        let head = #"{"items":[{"pack":"gsm8k","task_id":"x","response":"1"}],"pad":""#
        var buffer = ByteBuffer(string: head)
        buffer.writeRepeatingByte(UInt8(ascii: "x"), count: max(0, bytes - head.utf8.count - 2))
        buffer.writeString("\"}")
        return buffer
    }

    static let cases: [Case] = [
        Case(name: "malformed_json") { _ in raw("/v1/score", #"{"items": ["#, status: 400, code: "invalid_json") },
        Case(name: "empty_body") { _ in raw("/v1/score", "", status: 400, code: "invalid_json") },
        Case(name: "array_body") { _ in raw("/v1/score", "[]", status: 400, code: "invalid_input") },
        Case(name: "wrong_type") { _ in
            raw("/v1/score", #"{"items":[{"pack":"gsm8k","task_id":7,"response":"1"}]}"#, status: 400, code: "invalid_input")
        },
        Case(name: "null_field") { _ in
            raw("/v1/score", #"{"items":[{"pack":null,"task_id":"a","response":"1"}]}"#, status: 400, code: "invalid_input")
        },
        Case(name: "invalid_utf8") { _ in
            var b = ByteBuffer(string: #"{"items":[{"pack":"gsm8k","task_id":""#)
            b.writeBytes([0xFF, 0xFE, 0xC0])
            b.writeString(#"","response":"1"}]}"#)
            return LoadRequest(.POST, "/v1/score", body: .bytes(b)) { s, body in
                s == 400 ? .ok : .wrong("status \(s), expected 400: \(Answer.quote(body))")
            }
        },
        Case(name: "empty_items") { _ in raw("/v1/score", #"{"items":[]}"#, status: 400, code: "invalid_input") },
        Case(name: "unknown_task_in_batch") { _ in
            .json("/v1/score", ScoreRequest(items: [ScoreItem(pack: "gsm8k", taskID: "no-such-task", response: "1"),
                                                    ScoreItem(pack: "no-such-pack", taskID: "x", response: "1")])) { s, body in
                guard s == 200, let r = Answer.decode(ScoreResponse.self, body), r.results.count == 2,
                      r.results.allSatisfy({ $0.status == .error && $0.details["error_code"] == "not_found" })
                else { return .wrong("status \(s), expected 200 with two not_found items: \(Answer.quote(body))") }
                return .ok
            }
        },
        Case(name: "unknown_pack_episode") { _ in
            .json("/v1/episodes", ResetRequest(pack: "no-such-pack", taskID: "x")) { s, b in refused(s, b, 404, "not_found") }
        },
        Case(name: "unknown_task_episode") { w in
            .json("/v1/episodes", ResetRequest(pack: w.episodePack, taskID: "no-such-task")) { s, b in
                refused(s, b, 404, "not_found")
            }
        },
        Case(name: "unknown_episode_step") { _ in
            .json("/v1/episodes/ep-no-such-episode/step", StepRequest(action: "x")) { s, b in refused(s, b, 404, "not_found") }
        },
        Case(name: "step_without_action") { _ in raw("/v1/episodes/ep-1/step", "{}", status: 400, code: "invalid_input") },
        Case(name: "unknown_pack_listing") { _ in
            LoadRequest(.GET, "/v1/packs/no-such-pack/tasks") { s, b in refused(s, b, 404, "not_found") }
        },
        Case(name: "bad_limit") { w in
            LoadRequest(.GET, "/v1/packs/\(w.mathPacks[0])/tasks?limit=100000") { s, b in refused(s, b, 400, "invalid_input") }
        },
        Case(name: "unknown_route") { _ in LoadRequest(.GET, "/v2/nothing") { s, b in refused(s, b, 404, "not_found") } },
        Case(name: "run_code_without_code") { _ in
            raw("/run_code", #"{"language":"python"}"#, status: 400, code: "invalid_input")
        },
        Case(name: "run_code_unknown_language") { _ in
            raw("/run_code", #"{"code":"x","language":"cobol"}"#, status: 400, code: "invalid_input")
        },
        Case(name: "run_code_negative_timeout") { _ in
            raw("/run_code", #"{"code":"print(1)","language":"python","run_timeout":-1}"#, status: 400, code: "invalid_input")
        },
        Case(name: "get_reward_without_query") { _ in raw("/get_reward", #"{"labels":[]}"#, status: 400, code: "invalid_input") },
        Case(name: "get_reward_label_count") { _ in
            raw("/get_reward", #"{"query":["a","b"],"labels":["gsm8k/x"]}"#, status: 400, code: "invalid_input")
        },
        Case(name: "oversized_body") { w in
            LoadRequest(.POST, "/v1/score", body: .bytes(oversized(w.context.maxBodyBytes + 4096))) { s, b in
                refused(s, b, 413, "payload_too_large")
            }
        },
        Case(name: "oversized_chunked_body") { w in
            LoadRequest(.POST, "/v1/score", body: .chunked(oversized(w.context.maxBodyBytes + 4096))) { s, b in
                refused(s, b, 413, "payload_too_large")
            }
        },
    ]

    /// A bad request, drawn with `rng`; the oversized ones come up a tenth as often as the others (each
    /// moves the body limit's worth of bytes).
    static func job(rng: inout SplitMix64, workload: LoadWorkload) -> LoadJob {
        var pick = cases[rng.int(in: 0...(cases.count - 1))]
        while pick.name.hasPrefix("oversized"), rng.int(in: 0...9) != 0 {
            pick = cases[rng.int(in: 0...(cases.count - 1))]
        }
        return LoadJob(.badRequest, pick.name, pick.make(workload))
    }
}
