import ArgumentParser
import EnvrunCore
import EnvrunJudge
import EnvrunRM
import Foundation

/// `envrun grm`: the generative reward model (an LLM judge in DeepSeek-GRM's form) from the command line.
struct GRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grm",
        abstract: "Generative reward model: an OpenAI-compatible LLM judge writes principles, critiques and 1–10 scores.",
        discussion: """
            Any OpenAI-compatible server is a judge: vLLM (vllm serve MODEL), SGLang,
            llama.cpp's server or llama-cpp-python (the set-up installs one with
            SmolLM2-135M in .cache/judge), or a hosted API with --api-key-env naming the
            variable that holds the key. --judge and --model default to
            $ENVRUN_JUDGE_URL and $ENVRUN_JUDGE_MODEL.
            """,
        subcommands: [Score.self, Eval.self, Sample.self, Pack.self])

    /// Where the judge is and how to sample it: shared by every grm subcommand and `bench grm`.
    struct JudgeOptions: ParsableArguments {
        @Option(help: "Base URL of the judge, e.g. http://127.0.0.1:8000/v1 (default: $ENVRUN_JUDGE_URL).")
        var judge: String?
        @Option(help: "The judge's model name (default: $ENVRUN_JUDGE_MODEL).") var model: String?
        @Option(help: "Environment variable holding the judge's API key (its name, not the key).") var apiKeyEnv: String?
        @Option(help: "Output constraint field of the judge's server: none, grammar (llama.cpp), structured_outputs (vLLM), guided_regex, regex (SGLang).")
        var constraint = "none"
        @Option(help: "Seconds per judge call.") var timeout = 120.0
        @Option(help: "Judge calls in flight at once.") var concurrency = 4
        @Option(help: "Prompt template: a shipped name (Judge/templates) or a YAML file.")
        var template = JudgeTemplate.defaultName
        @Option(help: "Samples per scoring (voting@k).") var samples = 1
        @Option(help: "Sampling temperature (default 0 for one sample, 0.5 for several).") var temperature: Double?
        @Option(help: "Seed of the first sample (sample j uses seed + j).") var seed: UInt64 = 0
        @Option(help: "Most tokens the judge may write per sample.") var maxTokens = 768
        @Flag(help: "Show the responses in input order to every sample (no position-bias control).") var noShuffle = false
        @Option(help: "Length penalty: a response longer than the median loses this × (length / median − 1).")
        var lengthPenalty = 0.0

        func endpoint() throws -> JudgeEndpoint {
            let environment = ProcessInfo.processInfo.environment
            guard let url = judge ?? environment["ENVRUN_JUDGE_URL"], let name = model ?? environment["ENVRUN_JUDGE_MODEL"]
            else { throw ValidationError("give --judge URL and --model NAME (or set ENVRUN_JUDGE_URL and ENVRUN_JUDGE_MODEL)") }
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? "") else {
                throw ValidationError("--judge must be an http:// or https:// URL (got \"\(url)\")")
            }
            guard let field = JudgeEndpoint.ConstraintField(rawValue: constraint) else {
                throw ValidationError("--constraint must be one of \(JudgeEndpoint.ConstraintField.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard timeout > 0, (1...256).contains(concurrency) else {
                throw ValidationError("--timeout must be positive and --concurrency 1 to 256")
            }
            var e = JudgeEndpoint(baseURL: parsed, model: name)
            e.apiKeyEnv = apiKeyEnv
            e.constraintField = field
            e.timeoutSeconds = timeout
            e.maxConcurrency = concurrency
            return e
        }

        func settings() throws -> GRMSettings {
            guard (1...64).contains(samples) else { throw ValidationError("--samples must be 1 to 64") }
            var s = GRMSettings(samples: samples)
            s.temperature = temperature
            s.seed = seed
            s.maxTokens = maxTokens
            s.shuffle = !noShuffle
            s.lengthPenalty = lengthPenalty
            s.constrain = constraint != "none"
            return s
        }

        func generativeRM(cache: Bool = true) throws -> GenerativeRewardModel {
            let endpoint = try endpoint()
            return GenerativeRewardModel(
                client: OpenAIChatClient(endpoint: endpoint), template: try JudgeTemplate.load(template),
                judgeName: endpoint.name, cache: cache ? JudgeCache() : nil)
        }
    }

    struct Score: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score 1–16 responses to one prompt in one judge prompt.",
            discussion: """
                Prints one line per response (score, mean, votes) and the judge's text; with
                --json one object: {"status", "scores": [one number per response, in input
                order: the voted mean mapped onto [0, 1]], "means", "votes", "ties",
                "samples": [every sample: order shown, seed, text, scores]}. A judge that
                gives no usable scores exits 1 with status "error" and its text.
                  envrun grm score --judge http://127.0.0.1:8000/v1 \\
                    --model Qwen/Qwen2.5-7B-Instruct --samples 4 \\
                    --prompt "How do I boil an egg?" --response "..." --response "..."
                """)

        @OptionGroup var judge: JudgeOptions
        @Option(help: "The query.") var prompt: String
        @Option(help: "A response (repeat for more, 1 to 16).") var response: [String] = []
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            guard (1...GenerativeRewardModel.maxResponses).contains(response.count) else {
                throw ValidationError("give 1 to \(GenerativeRewardModel.maxResponses) --response options (got \(response.count))")
            }
        }

        func run() async throws {
            let model = try judge.generativeRM(cache: false)
            let result = await model.score(query: prompt, responses: response, settings: try judge.settings())
            if json {
                print(try GRMCommand.json(result))
            } else {
                for s in result.samples {
                    print("--- sample \(s.index + 1) (seed \(s.seed), order \(s.order.map { $0 + 1 }))"
                          + (s.error.map { " error: \($0)" } ?? ""))
                    print(s.text)
                }
                if result.status == .ok {
                    for i in response.indices {
                        print(String(format: "response %d: score %.3f  mean %.2f  votes %.1f", i + 1,
                                     result.normalized(i), result.means[i], result.votes[i]))
                    }
                    if result.ties.count > 1 { print("tied for best: \(result.ties.map { $0 + 1 })") }
                } else {
                    print("error: \(result.error ?? "no scores")")
                }
            }
            if result.status != .ok { throw ExitCode(1) }
        }
    }

    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pairwise accuracy of the judge on preference pairs, beside the scalar RM and \"longer wins\".",
            discussion: """
                Each pair's two responses are judged in one prompt (shuffled per sample);
                the judge is right when the labelled better one gets the higher vote (ties
                count half, errors apart). The scalar RM (--head) and the longer-wins
                baseline are measured on the same pairs in the same run.
                  envrun grm eval --limit 200 \\
                    --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz
                """)

        @OptionGroup var judge: JudgeOptions
        @Option(help: "Preference pairs: JSONL (or .jsonl.gz) of {prompt, chosen, rejected} or HH-RLHF dialogues.")
        var pairs: String
        @Option(help: "Evaluate only every K-th pair: the slice `rm train` holds out, so the scalar RM is scored on pairs it never saw (0: all pairs).")
        var holdoutEvery = 5
        @Option(help: "Judge only the first N pairs of those (0: all).") var limit = 100
        @Option(help: "Scalar RM head folder to compare with ('' to skip).") var head = "Models/hh-helpful-head"
        @Option(help: "Encoder folder of the scalar RM (default: $ENVRUN_ENCODER_DIR or .cache/models/all-MiniLM-L6-v2).")
        var modelDir: String?
        @Flag(help: "Print JSON.") var json = false

        struct Report: Codable {
            var pairs: Int
            var judge: PairwiseEval.Outcome
            var scalarRM: PairwiseEval.Outcome?
            var scalarRMSkipped: String?
            var longerWins: PairwiseEval.Outcome
            enum CodingKeys: String, CodingKey {
                case pairs, judge
                case scalarRM = "scalar_rm"
                case scalarRMSkipped = "scalar_rm_skipped"
                case longerWins = "longer_wins"
            }
        }

        func run() async throws {
            var loaded = try PreferencePairs.load(pairs)
            if holdoutEvery > 1 { loaded = PreferencePairs.holdOut(loaded, every: holdoutEvery).heldOut }
            if limit > 0 { loaded = Array(loaded.prefix(limit)) }
            guard !loaded.isEmpty else { throw ValidationError("\(pairs): no preference pairs") }
            let list = loaded
            let model = try judge.generativeRM()
            let started = ContinuousClock.now
            let outcome = await PairwiseEval.judge(
                list, model: model, settings: try judge.settings(), concurrency: judge.concurrency
            ) { done, total in
                if done == total || done % 10 == 0 {
                    let s = (ContinuousClock.now - started).milliseconds / 1000
                    RMCommand.log(String(format: "judged %d/%d pairs (%.0f s, ~%.0f s left)", done, total, s,
                                         s / Double(done) * Double(total - done)))
                }
            }
            var report = Report(pairs: list.count, judge: outcome, longerWins: PairwiseEval.longerWins(list))
            if head.isEmpty {
                report.scalarRMSkipped = "--head ''"
            } else {
                do {
                    let rm = try EncoderRewardModel.load(modelDir: modelDir, headDir: head)
                    let chosen = try await rm.scores(prompts: list.map(\.prompt), responses: list.map(\.chosen))
                    let rejected = try await rm.scores(prompts: list.map(\.prompt), responses: list.map(\.rejected))
                    report.scalarRM = PairwiseEval.scored(Array(zip(chosen, rejected)).map { (chosen: $0, rejected: $1) })
                } catch {
                    report.scalarRMSkipped = "\(error)"
                }
            }
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(report), as: UTF8.self))
                return
            }
            func line(_ name: String, _ o: PairwiseEval.Outcome) -> String { o.line(name) }
            print("pairs \(list.count)")
            print(line("judge", outcome))
            if let s = report.scalarRM { print(line("scalar RM", s)) } else { print("scalar RM       skipped: \(report.scalarRMSkipped ?? "")") }
            print(line("longer wins", report.longerWins))
        }
    }

    struct Sample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SPCT rejective fine-tuning data: judge samples whose scores single out the labelled best.",
            discussion: """
                For each preference pair, draws --samples-per-item judge samples (shuffled
                orders, temperature 0.5 by default); keeps a sample only when its scores
                single out the human-preferred response; drops pairs every sample got right
                (too easy). With --hinted, a pair no sample got right is drawn again with
                the judge told which response is best; such examples carry "hinted": true.
                Writes JSONL, one example per line: {"item", "messages" (the judge prompt as
                shown), "completion" (the judge's text), "scores" (as shown), "best_shown",
                "hinted"}, and prints a summary (--json: as JSON). Pairs `rm train` and `grm
                eval` hold out are left out (--holdout-every).
                  envrun grm sample --out rft.jsonl --samples-per-item 8 --hinted \\
                    --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz
                """)

        @OptionGroup var judge: JudgeOptions
        @Option(help: "Preference pairs: JSONL (or .jsonl.gz) of {prompt, chosen, rejected} or HH-RLHF dialogues.")
        var pairs: String
        @Option(help: "Where to write the examples (JSONL).") var out: String
        @Option(help: "Judge samples drawn per pair (N).") var samplesPerItem = 8
        @Flag(help: "Draw again, with the best response named, for pairs no sample got right.") var hinted = false
        @Option(help: "Pairs to use (0: all).") var limit = 100
        @Option(help: "Leave out every K-th pair (the slice rm train and grm eval hold out; 0: none).") var holdoutEvery = 5
        @Flag(help: "Print the summary as JSON.") var json = false

        func run() async throws {
            guard (1...64).contains(samplesPerItem) else { throw ValidationError("--samples-per-item must be 1 to 64") }
            var loaded = try PreferencePairs.load(pairs)
            if holdoutEvery > 1 { loaded = PreferencePairs.holdOut(loaded, every: holdoutEvery).train }
            if limit > 0 { loaded = Array(loaded.prefix(limit)) }
            guard !loaded.isEmpty else { throw ValidationError("\(pairs): no preference pairs") }
            let items = loaded.map { RejectiveSampling.Item(query: $0.prompt, responses: [$0.chosen, $0.rejected], best: 0) }
            var settings = try judge.settings()
            if judge.temperature == nil { settings.temperature = 0.5 }
            let started = ContinuousClock.now
            let (examples, report) = await RejectiveSampling.run(
                items, model: try judge.generativeRM(cache: false), samples: samplesPerItem, settings: settings,
                hinted: hinted, concurrency: judge.concurrency
            ) { done, total in
                if done == total || done % 10 == 0 {
                    let s = (ContinuousClock.now - started).milliseconds / 1000
                    RMCommand.log(String(format: "sampled %d/%d pairs (%.0f s)", done, total, s))
                }
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let lines = try examples.map { String(decoding: try enc.encode($0), as: UTF8.self) }
            try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: out, atomically: true, encoding: .utf8)
            if json {
                print(String(decoding: try enc.encode(report), as: UTF8.self))
            } else {
                print("pairs \(report.items): \(report.examples) examples written to \(out) (\(report.hintedExamples) hinted); "
                      + "\(report.tooEasy) too easy, \(report.rejectedSamples) samples rejected, "
                      + "\(report.hintedItems) pairs drawn again with a hint, \(report.failedItems) pairs the judge could not score")
            }
        }
    }

    struct Pack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a grm_rule task pack from preference pairs (SPCT's rule-based RL for training a judge).",
            discussion: """
                Each task's prompt is the judge prompt of the template for one pair's two
                responses, in an order drawn from --seed (the labelled best is first in
                about half of them); metadata.grm_best names where the chosen response is
                shown. The pack's reward is grm_rule: +1 when the policy's scores single out
                the chosen response, −1 otherwise (malformed: −1). The pairs `rm train` and
                `grm eval` hold out (every --holdout-every-th) are left out. Writes
                DIR/tasks.jsonl; write pack.yaml, LICENSE and SOURCE.md by hand (the shipped
                Tasks/hh-grm-rule shows how), and gzip with gzip -9n.
                  envrun grm pack --out Tasks/hh-grm-rule \\
                    --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz
                """)

        @Option(help: "Preference pairs: JSONL (or .jsonl.gz) of {prompt, chosen, rejected} or HH-RLHF dialogues.")
        var pairs: String
        @Option(help: "Folder to write tasks.jsonl into (created).") var out: String
        @Option(help: "Tasks to write (0: all).") var count = 400
        @Option(help: "Leave out every K-th pair, as rm train and grm eval hold them out (0: none).") var holdoutEvery = 5
        @Option(help: "Seed of the response orders.") var seed: UInt64 = 1
        @Option(help: "Judge template the prompts are written in.") var template = JudgeTemplate.defaultName

        func run() async throws {
            var loaded = try PreferencePairs.load(pairs)
            if holdoutEvery > 1 { loaded = PreferencePairs.holdOut(loaded, every: holdoutEvery).train }
            if count > 0 { loaded = Array(loaded.prefix(count)) }
            guard !loaded.isEmpty else { throw ValidationError("\(pairs): no preference pairs") }
            let tasks = GRMRulePack.tasks(loaded.map { ($0.prompt, $0.chosen, $0.rejected) },
                                          template: try JudgeTemplate.load(template), seed: seed)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let lines = try tasks.map { String(decoding: try enc.encode($0), as: UTF8.self) }
            let path = (out as NSString).appendingPathComponent("tasks.jsonl")
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let firstBest = tasks.filter { $0.metadata?["grm_best"] == "1" }.count
            RMCommand.log("wrote \(tasks.count) tasks to \(path) (chosen shown first in \(firstBest))")
        }
    }

    static func json(_ result: GRMResult) throws -> String {
        struct Out: Encodable {
            var status: String
            var scores: [Double]
            var means: [Double]
            var votes: [Double]
            var ties: [Int]
            var voters: Int
            var error: String?
            var judge: String
            var template: String
            var samples: [GRMSample]
        }
        let out = Out(
            status: result.status.rawValue, scores: result.means.indices.map { result.normalized($0) }, means: result.means,
            votes: result.votes, ties: result.ties, voters: result.voters, error: result.error, judge: result.judge,
            template: result.template, samples: result.samples)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(out), as: UTF8.self)
    }
}

struct BenchGRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grm",
        abstract: "envrun's own cost per generative-RM scoring beside the judge's time, and a cache hit's cost.",
        discussion: """
            Rows, measured in one run: an in-process judge that answers at once (every
            millisecond is envrun's: prompt, shuffles, parsing, voting, cache key;
            target ≤ 1 ms), a cache hit, and with --judge/--model (or $ENVRUN_JUDGE_URL)
            a real judge, split into time with a judge call in flight and envrun's time
            outside it. Build with -c release to measure.
            """)

    @OptionGroup var judge: GRMCommand.JudgeOptions
    @Option(help: "Responses per scoring.") var responses = 4
    @Option(help: "Scorings against the in-process judge and the cache.") var calls = 200
    @Option(help: "Scorings against the real judge.") var judgeCalls = 5
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        var options = GRMBench.Options()
        options.responses = responses
        options.samples = judge.samples
        options.calls = max(1, calls)
        options.judgeCalls = max(1, judgeCalls)
        options.maxTokens = judge.maxTokens
        let environment = ProcessInfo.processInfo.environment
        var real: (any ChatCompletionClient)?
        if judge.judge != nil || environment["ENVRUN_JUDGE_URL"] != nil {
            real = OpenAIChatClient(endpoint: try judge.endpoint())
        }
        let (rows, failures) = await GRMBench.run(
            options: options, template: try JudgeTemplate.load(judge.template), judge: real,
            progress: { RMCommand.log($0) })
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(rows), as: UTF8.self))
        } else {
            print(GRMBench.render(rows))
            if failures > 0 { print("scorings that failed: \(failures)") }
        }
    }
}
