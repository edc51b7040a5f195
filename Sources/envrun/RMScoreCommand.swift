import ArgumentParser
import EnvrunCore
import EnvrunRM
import Foundation

extension RMCommand {
    struct Score: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score responses: prints one JSON line {\"index\", \"reward\"} per response.",
            discussion: """
                Give --prompt once and --response one or more times, or --input FILE of JSONL {"prompt","response"}.
                --steps MODE scores every step prefix of each response (process reward) and aggregates with
                --aggregate (product: PRM800K's convention; min; last); step values are σ(score) for the local head,
                raw scores for a remote model. --remote URL scores with a vLLM server instead of the local head:
                  envrun rm score --remote http://127.0.0.1:8000 --remote-model my-rm --prompt … --response …
                """)

        @OptionGroup var common: Common
        @Option(help: "Head folder.") var head = "Models/hh-helpful-head"
        @Option(help: "The prompt.") var prompt: String?
        @Option(help: "A response to score (repeatable).") var response: [String] = []
        @Option(help: "JSONL of {\"prompt\", \"response\"}.") var input: String?
        @Option(help: "Process reward: split responses into steps (blank_lines, step_markers, lines).")
        var steps: String?
        @Option(help: "Process reward aggregation: product, min or last.") var aggregate = "product"
        @Option(help: "Base URL of a vLLM server (`vllm serve MODEL --runner pooling`).") var remote: String?
        @Option(help: "Model name on the vLLM server.") var remoteModel: String?
        @Option(help: "vLLM endpoint: classify or pooling.") var endpoint = "classify"
        @Option(help: "Text sent to the remote model, with {prompt} and {response}.") var template = "{prompt}{response}"
        @Option(help: "Remote request timeout in seconds.") var timeout = 30.0

        func validate() throws {
            if input == nil && (prompt == nil || response.isEmpty) {
                throw ValidationError("give --prompt and at least one --response, or --input FILE")
            }
            if let steps, StepSplit(rawValue: steps) == nil {
                throw ValidationError("--steps must be one of \(StepSplit.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if StepAggregation(rawValue: aggregate) == nil { throw ValidationError("--aggregate must be product, min or last") }
            if VLLMRewardModel.Endpoint(rawValue: endpoint) == nil { throw ValidationError("--endpoint must be classify or pooling") }
            if remote != nil && remoteModel == nil { throw ValidationError("--remote needs --remote-model") }
        }

        func model() throws -> any ScalarRewardModel {
            if let remote {
                guard let url = URL(string: remote), url.scheme != nil else { throw ValidationError("--remote: not a URL") }
                var c = VLLMRewardModel.Config(baseURL: url, model: remoteModel ?? "")
                c.endpoint = VLLMRewardModel.Endpoint(rawValue: endpoint)!
                c.template = template
                c.timeoutSeconds = timeout
                return VLLMRewardModel(c)
            }
            return try EncoderRewardModel.load(modelDir: common.modelDir, headDir: head, blasThreads: nil)
        }

        func run() async throws {
            common.apply()
            let model = try model()
            if let rm = model as? VLLMRewardModel {
                do { RMCommand.log("vLLM \(try await rm.probeVersion()) at \(rm.config.baseURL.absoluteString)") } catch {
                    RMCommand.log("warning: version probe failed: \(error)")
                }
            }
            var prompts: [String] = [], responses: [String] = []
            if let input {
                guard let data = FileManager.default.contents(atPath: input) else {
                    throw EnvrunError(.notFound, "cannot read input", field: input)
                }
                for (i, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
                    guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                        let p = o["prompt"] as? String, let r = o["response"] as? String
                    else { throw EnvrunError(.invalidInput, "line \(i + 1): expected {\"prompt\", \"response\"}", field: input) }
                    prompts.append(p)
                    responses.append(r)
                }
            } else if let prompt {
                prompts = Array(repeating: prompt, count: response.count)
                responses = response
            }
            if let steps, let split = StepSplit(rawValue: steps) {
                let scorer = ProcessRewardScorer(
                    model: model, split: split, aggregation: StepAggregation(rawValue: aggregate)!,
                    transform: model is VLLMRewardModel ? .identity : .sigmoid)
                for i in prompts.indices {
                    let r = await scorer.score(prompt: prompts[i], solution: responses[i])
                    var obj: [String: Any] = ["index": i, "reward": r.reward, "status": r.status.rawValue,
                                              "step_rewards": r.stepRewards ?? []]
                    if let e = r.details["error"] { obj["error"] = e }
                    print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
                }
                return
            }
            let scores = try await model.scores(prompts: prompts, responses: responses)
            for (i, s) in scores.enumerated() {
                let obj: [String: Any] = ["index": i, "reward": s]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }
}
