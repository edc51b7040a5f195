import EnvrunCore
import EnvrunTasks
import Foundation
import NIOCore

/// The jobs of `envrun bench load`, built from the packs' own tasks (read from the packs folder on this
/// machine, so the bench knows the gold answers and references the server's listing hides). Every job
/// knows its expected answer.
public struct LoadWorkload: Sendable {
    public struct Context: Sendable {
        /// The server's port (the network attack connects to it from inside the sandbox).
        public var port: Int
        /// Languages `/run_code` runs; the others' programs are left out.
        public var languages: [String]
        /// The server's body limit: the oversized requests are just over it.
        public var maxBodyBytes: Int
        /// A file on the host with `secret` in it, which no sandboxed program may read.
        public var secretPath: String
        public var secret: String
        public init(port: Int, languages: [String], maxBodyBytes: Int, secretPath: String, secret: String) {
            self.port = port
            self.languages = languages
            self.maxBodyBytes = maxBodyBytes
            self.secretPath = secretPath
            self.secret = secret
        }
    }

    struct MathTask: Sendable {
        var pack: String
        var id: String
        var answer: String
        var prompt: String
    }

    struct CodeTask: Sendable {
        var pack: String
        var id: String
        var reference: String
        var entryPoint: String
    }

    let context: Context
    let math: [MathTask]
    let code: [CodeTask]
    /// Tasks of a multi-turn code pack (else of any code pack: episodes of one turn).
    let episodeTasks: [CodeTask]
    let episodeTurns: Int
    let hostile: [HostileProgram]
    let attacks: [HostileProgram]
    public let mathPacks: [String]
    public let codePacks: [String]
    public let episodePack: String
    /// Languages, resource bombs and attacks are taken in turn (so a short run still sends each).
    let tickets = (language: Ticket(), hostile: Ticket(), attack: Ticket())

    /// Math tasks from `mathPacks`, code tasks (with a reference) from `codePacks`; the episode pack is
    /// the first multi-turn code pack among them.
    public init(packs: [TaskPack], mathPacks: [String] = ["gsm8k", "math500"],
                codePacks: [String] = ["humaneval", "mbpp"], context: Context) throws
    {
        func pack(_ name: String) throws -> TaskPack {
            guard let p = packs.first(where: { $0.name == name }) else {
                throw EnvrunError(.notFound, "no pack '\(name)' in the packs folder (have: \(packs.map(\.name).joined(separator: ", ")))",
                                  field: "packs")
            }
            return p
        }
        var math: [MathTask] = []
        for name in mathPacks {
            math += try pack(name).tasks.compactMap { t in
                t.answer.map { MathTask(pack: name, id: t.id, answer: $0, prompt: t.prompt) }
            }
        }
        var code: [CodeTask] = []
        var episodes: (pack: String, turns: Int, tasks: [CodeTask])?
        for name in codePacks {
            let p = try pack(name)
            let tasks = p.tasks.compactMap { t -> CodeTask? in
                guard let r = t.reference, let e = t.entryPoint, t.tests != nil else { return nil }
                return CodeTask(pack: name, id: t.id, reference: r, entryPoint: e)
            }
            code += tasks
            if !tasks.isEmpty, episodes == nil || (episodes!.turns < 2 && p.manifest.reward.maxTurns > 1) {
                episodes = (name, p.manifest.reward.maxTurns, tasks)
            }
        }
        guard !math.isEmpty else {
            throw EnvrunError(.invalidInput, "no task with a gold answer in \(mathPacks.joined(separator: ", "))", field: "math-packs")
        }
        guard let episodes, !code.isEmpty else {
            throw EnvrunError(.invalidInput, "no code task with tests and a reference in \(codePacks.joined(separator: ", "))",
                              field: "code-packs")
        }
        self.context = context
        self.math = math
        self.code = code
        self.episodeTasks = episodes.tasks
        self.episodeTurns = episodes.turns
        self.episodePack = episodes.pack
        // Only packs that gave tasks are drawn from.
        self.mathPacks = mathPacks.filter { name in math.contains { $0.pack == name } }
        self.codePacks = codePacks.filter { name in code.contains { $0.pack == name } }
        let languages = Set(context.languages)
        self.hostile = AttackCorpus.resource.filter { languages.contains($0.language) }.map { Self.filled($0, context) }
        self.attacks = AttackCorpus.containment.filter { languages.contains($0.language) }.map { Self.filled($0, context) }
    }

    static func filled(_ p: HostileProgram, _ c: Context) -> HostileProgram {
        var p = p
        func fill(_ s: String) -> String {
            s.replacingOccurrences(of: "@PORT@", with: "\(c.port)")
                .replacingOccurrences(of: "@SECRET_PATH@", with: c.secretPath)
                .replacingOccurrences(of: "@SECRET@", with: c.secret)
        }
        p.code = fill(p.code)
        p.forbidden = p.forbidden.map(fill)
        p.required = p.required.map(fill)
        return p
    }

    /// The containment attacks this workload sends (filled in, of the languages the server runs).
    public var attackPrograms: [HostileProgram] { attacks }
    public var hostilePrograms: [HostileProgram] { hostile }

    /// A job of `loadClass`, drawn with `rng`.
    public func job(_ loadClass: LoadClass, rng: inout SplitMix64) -> LoadJob {
        switch loadClass {
        case .math: return mathJob(rng: &rng)
        case .runCode: return runCodeJob(rng: &rng)
        case .scoreCode: return scoreCodeJob(rng: &rng)
        case .hostile: return Self.runCodeJob(.hostile, hostile[tickets.hostile.take() % hostile.count])
        case .attack, .attackBurst: return Self.runCodeJob(loadClass, attacks[tickets.attack.take() % attacks.count])
        case .badRequest: return BadRequests.job(rng: &rng, workload: self)
        case .episode: return episodeJob(rng: &rng)
        case .getReward: return getRewardJob(rng: &rng)
        }
    }

    // MARK: math

    static func mathResponse(_ answer: String) -> String {
        "Let me work through this step by step. The answer is \\boxed{\(answer)}."
    }

    /// 16 items of one math pack: even ones the gold answer (reward 1), odd ones a wrong number (0).
    func mathJob(rng: inout SplitMix64) -> LoadJob {
        let pack = mathPacks[rng.int(in: 0...(mathPacks.count - 1))]
        let pool = math.filter { $0.pack == pack }
        let tasks = (0..<16).map { _ in pool[rng.int(in: 0...(pool.count - 1))] }
        let items = tasks.enumerated().map { i, t in
            ScoreItem(pack: t.pack, taskID: t.id, response: Self.mathResponse(i % 2 == 0 ? t.answer : "-987654321"))
        }
        let expected = (0..<16).map { $0 % 2 == 0 ? 1.0 : 0.0 }
        return LoadJob(.math, pack, .json("/v1/score", ScoreRequest(items: items)) { status, body in
            Self.scored(status, body, expected: expected, ids: tasks.map { "\($0.pack)/\($0.id)" })
        })
    }

    /// A 200 with one ok result per item, each with its expected reward (nil: any reward below 1).
    static func scored(_ status: Int, _ body: ByteBuffer, expected: [Double?], ids: [String]) -> Judgement {
        var j = Judgement(sandboxErrors: Answer.sandboxErrors(body))
        guard status == 200 else { return Judgement(sandboxErrors: j.sandboxErrors, unexpected: "status \(status): \(Answer.quote(body))") }
        guard let r = Answer.decode(ScoreResponse.self, body), r.results.count == expected.count else {
            j.unexpected = "not \(expected.count) results: \(Answer.quote(body))"
            return j
        }
        for (i, result) in r.results.enumerated() {
            if result.details["verdict"] == Verdict.sandboxError.rawValue { continue }  // counted above
            if result.status != .ok {
                j.unexpected = "\(ids[i]): status \(result.status.rawValue) \(result.details["error"] ?? "")"
                break
            }
            let ok = expected[i].map { result.reward == $0 } ?? (result.reward < 1)
            if !ok {
                j.unexpected = "\(ids[i]): reward \(result.reward), expected \(expected[i].map { "\($0)" } ?? "< 1") "
                    + "(\(result.details["verdict"] ?? "") \(result.details["extracted_answer"] ?? ""))"
                break
            }
        }
        return j
    }

    // MARK: code

    /// HumanEval/MBPP through `/v1/score`: two references (reward 1) and two stubs (below 1).
    func scoreCodeJob(rng: inout SplitMix64) -> LoadJob {
        let pack = codePacks[rng.int(in: 0...(codePacks.count - 1))]
        let pool = code.filter { $0.pack == pack }
        let tasks = (0..<4).map { _ in pool[rng.int(in: 0...(pool.count - 1))] }
        let items = tasks.enumerated().map { i, t in
            ScoreItem(pack: t.pack, taskID: t.id, response: "```python\n\(i % 2 == 0 ? t.reference : Self.stub(t))\n```")
        }
        let expected: [Double?] = [1, nil, 1, nil]
        return LoadJob(.scoreCode, pack, .json("/v1/score", ScoreRequest(items: items)) {
            status, body in Self.scored(status, body, expected: expected, ids: tasks.map { "\($0.pack)/\($0.id)" })
        })
    }

    static func stub(_ t: CodeTask) -> String { "def \(t.entryPoint)(*args, **kwargs):\n    return None\n" }

    /// Per language: a program that sums squares below n read from stdin; one that exits 3; for compiled
    /// languages one that does not compile.
    static let programs: [String: (ok: String, exit3: String, broken: String?)] = [
        "python": ("import sys\nn = int(sys.stdin.read())\nprint(sum(i * i for i in range(n)))\n",
                   "import sys\nsys.exit(3)\n", nil),
        "c": ("#include <stdio.h>\nint main(void) { long long n, s = 0; scanf(\"%lld\", &n);\n"
                + "  for (long long i = 0; i < n; i++) s += i * i;\n  printf(\"%lld\\n\", s); return 0; }\n",
              "int main(void) { return 3; }\n", "int main(void) { return undefined_name; }\n"),
        "cpp": ("#include <iostream>\nint main() { long long n, s = 0; std::cin >> n;\n"
                  + "  for (long long i = 0; i < n; i++) s += i * i;\n  std::cout << s << std::endl; }\n",
                "#include <cstdlib>\nint main() { std::exit(3); }\n", "int main() { std::vector<int> v; }\n"),
        "bash": ("read n\ns=0\nfor ((i = 0; i < n; i++)); do s=$((s + i * i)); done\necho $s\n", "exit 3\n", nil),
        "javascript": ("const n = parseInt(require('fs').readFileSync(0, 'utf8'));\nlet s = 0;\n"
                         + "for (let i = 0; i < n; i++) s += i * i;\nconsole.log(s);\n", "process.exit(3);\n", nil),
    ]

    /// The languages the bench has programs for.
    public static var knownLanguages: [String] { programs.keys.sorted() }

    func runCodeJob(rng: inout SplitMix64) -> LoadJob {
        let languages = context.languages.filter { Self.programs[$0] != nil }
        let language = languages[tickets.language.take() % languages.count]
        let p = Self.programs[language]!
        let roll = rng.int(in: 0...9)
        if roll == 0 {
            return LoadJob(.runCode, language + ":exit3", Self.runCode(p.exit3, language) { r in
                r.envrun.verdict == .runtimeError && r.status == "Failed" && r.runResult?.returnCode == 3
                    ? nil : "expected runtime_error with exit 3"
            })
        }
        if roll == 1, let broken = p.broken {
            return LoadJob(.runCode, language + ":compile_error", Self.runCode(broken, language) { r in
                r.envrun.verdict == .compileError && r.status == "Failed" && r.compileResult != nil
                    ? nil : "expected compile_error"
            })
        }
        let n = rng.int(in: 1...1500)
        let want = "\((0..<n).reduce(0) { $0 + $1 * $1 })\n"
        return LoadJob(.runCode, language, Self.runCode(p.ok, language, stdin: "\(n)\n") { r in
            r.status == "Success" && r.runResult?.stdout == want
                ? nil : "expected Success with \(want.dropLast()), stdout '\((r.runResult?.stdout ?? "").prefix(80))'"
        })
    }

    static func runCode(_ code: String, _ language: String, stdin: String? = nil, runTimeout: Double? = nil,
                        memoryLimitMB: Int? = nil, check: @escaping @Sendable (RunCodeResponse) -> String?) -> LoadRequest
    {
        var request = RunCodeRequest(code: code, language: language, runTimeout: runTimeout, stdin: stdin)
        request.memoryLimitMB = memoryLimitMB
        return .json("/run_code", request) { status, body in
            var j = Judgement(sandboxErrors: Answer.sandboxErrors(body))
            guard status == 200, let r = Answer.decode(RunCodeResponse.self, body) else {
                j.unexpected = "status \(status): \(Answer.quote(body))"
                return j
            }
            if r.envrun.verdict == .sandboxError { return j }
            if let why = check(r) { j.unexpected = "\(why); got \(r.status) \(r.envrun.verdict.rawValue) \(r.envrun.detail ?? "")" }
            return j
        }
    }

    /// A hostile program through `/run_code`: contained when its verdict and output say so.
    static func runCodeJob(_ loadClass: LoadClass, _ p: HostileProgram) -> LoadJob {
        var request = RunCodeRequest(code: p.code, language: p.language, runTimeout: p.runTimeout)
        request.memoryLimitMB = p.memoryLimitMB
        return LoadJob(loadClass, p.name, .json("/run_code", request) { status, body in
            var j = Judgement(sandboxErrors: Answer.sandboxErrors(body))
            guard status == 200, let r = Answer.decode(RunCodeResponse.self, body) else {
                j.unexpected = "status \(status): \(Answer.quote(body))"
                return j
            }
            if r.envrun.verdict == .sandboxError { return j }
            j.breach = p.breach(verdict: r.envrun.verdict, stdout: r.runResult?.stdout ?? "").map { "\(p.name): \($0)" }
            return j
        })
    }

    // MARK: episodes

    /// Reset, then (multi-turn) a stub that fails with the turns left, then the reference: done, reward 1.
    func episodeJob(rng: inout SplitMix64) -> LoadJob {
        let t = episodeTasks[rng.int(in: 0...(episodeTasks.count - 1))]
        let multi = episodeTurns > 1
        var steps: [@Sendable ([String: String]) -> LoadRequest] = [{ _ in
            .json("/v1/episodes", ResetRequest(pack: t.pack, taskID: t.id)) { status, body in
                guard status == 201, let r = Answer.decode(StepResult.self, body), !r.done, !r.episodeID.isEmpty else {
                    return .wrong("reset: status \(status): \(Answer.quote(body))")
                }
                var j = Judgement.ok
                j.state["episode"] = r.episodeID
                return j
            }
        }]
        if multi {
            steps.append({ state in
                .json("/v1/episodes/\(state["episode"] ?? "")/step", StepRequest(action: "```python\n\(Self.stub(t))```")) {
                    status, body in Self.stepped(status, body, done: false, reward: 0, state: state)
                }
            })
        }
        steps.append({ state in
            .json("/v1/episodes/\(state["episode"] ?? "")/step", StepRequest(action: "```python\n\(t.reference)\n```")) {
                status, body in Self.stepped(status, body, done: true, reward: 1, state: state)
            }
        })
        return LoadJob(.episode, t.pack, steps: steps)
    }

    static func stepped(_ status: Int, _ body: ByteBuffer, done: Bool, reward: Double, state: [String: String])
        -> Judgement
    {
        var j = Judgement(sandboxErrors: Answer.sandboxErrors(body))
        j.state = state
        guard status == 200, let r = Answer.decode(StepResult.self, body) else {
            j.unexpected = "step: status \(status): \(Answer.quote(body))"
            return j
        }
        if j.sandboxErrors > 0 { return j }
        if r.done != done || r.reward?.reward != reward || r.reward?.status != .ok {
            j.unexpected = "step: done \(r.done) reward \(r.reward?.reward ?? -1) \(r.reward?.status.rawValue ?? "none"), "
                + "expected done \(done) reward \(reward)"
        }
        return j
    }

    // MARK: OpenRLHF

    /// Four GSM8K queries labelled `gsm8k/ID`, two right and two wrong.
    func getRewardJob(rng: inout SplitMix64) -> LoadJob {
        let pool = math.filter { $0.pack == mathPacks[0] }
        let tasks = (0..<4).map { _ in pool[rng.int(in: 0...(pool.count - 1))] }
        let responses = tasks.enumerated().map { i, t in Self.mathResponse(i % 2 == 0 ? t.answer : "-987654321") }
        let request = GetRewardRequest(
            query: zip(tasks, responses).map { $0.prompt + $1 }, prompts: tasks.map(\.prompt),
            labels: tasks.map { .text("\($0.pack)/\($0.id)") })
        return LoadJob(.getReward, mathPacks[0], .json("/get_reward", request) { status, body in
            guard status == 200, let r = Answer.decode(GetRewardResponse.self, body) else {
                return .wrong("status \(status): \(Answer.quote(body))")
            }
            let errors = r.extraLogs["envrun_error"] ?? []
            if r.rewards != [1, 0, 1, 0] || errors.contains(where: { $0 != 0 }) {
                return .wrong("rewards \(r.rewards) errors \(errors), expected [1, 0, 1, 0] and no errors")
            }
            return .ok
        })
    }
}
