import EnvrunCore
import EnvrunJudge
import EnvrunRewards
import Testing

@testable import EnvrunTasks

@Suite("pack.yaml schema")
struct ManifestTests {
    @Test func parsesAFullCodeManifest() throws {
        let m = try ManifestParser.parse(yaml: """
            name: code-pack
            version: 2.1.0
            description: d
            license: MIT
            source: s
            tasks: tasks.jsonl.gz
            prompt_template: |-
              Solve: {{prompt}}
            reward:
              verifier: code_io
              language: c
              mode: all_or_nothing
              limits: {cpu_ms: 1000, wall_ms: 2000, memory_mb: 64}
              compare: {ignore_whitespace: false, float_tolerance: 0.001}
              multi_turn: {max_turns: 4}
            """)
        #expect(m.name == "code-pack")
        #expect(m.tasksFile == "tasks.jsonl.gz")
        #expect(m.render(prompt: "x") == "Solve: x")
        #expect(m.reward.verifier == .codeIO)
        #expect(m.reward.code.language == "c")
        #expect(m.reward.code.mode == .allOrNothing)
        #expect(m.reward.code.limits == ExecLimits(cpuMs: 1000, wallMs: 2000, memoryMB: 64))
        #expect(m.reward.code.comparison == OutputComparison(ignoreWhitespace: false, floatTolerance: 0.001))
        #expect(m.reward.maxTurns == 4)
        #expect(m.multiTurn)
    }

    @Test func mathOptionsAndDefaults() throws {
        let m = try ManifestParser.parse(yaml: manifest(name: "m", reward: "  verifier: math\n  math: {float_tolerance: 1e-6, last_number_fallback: false}"))
        #expect(m.reward.math?.floatTolerance == 1e-6)
        #expect(m.reward.math?.lastNumberFallback == false)
        #expect(m.reward.maxTurns == 1)
        let plain = try ManifestParser.parse(yaml: manifest(name: "m", reward: "  verifier: exact"))
        #expect(plain.reward.math == nil)
        #expect(!plain.multiTurn)
    }

    /// Each bad manifest must fail with an error that names the field and the line it is on.
    @Test(arguments: [
        ("version: 1\nname: x\n", "description", nil as Int?),
        (manifest(name: "Bad Name", reward: "  verifier: math"), "name", 1),
        (manifest(name: "x", reward: "  verifier: math", extra: "colour: red\n"), "colour", 8),
        (manifest(name: "x", reward: "  verifier: mathematics"), "reward.verifier", 9),
        (manifest(name: "x", reward: "  verifier: code_tests\n  mode: half"), "reward.mode", 10),
        (manifest(name: "x", reward: "  verifier: math\n  mode: fraction"), "reward.mode", 10),
        (manifest(name: "x", reward: "  verifier: code_tests\n  limits: {cpu_ms: -5}"), "reward.limits.cpu_ms", 10),
        (manifest(name: "x", reward: "  verifier: code_tests\n  multi_turn: {max_turns: many}"), "reward.multi_turn.max_turns", 10),
        (manifest(name: "x", reward: "  verifier: scalar_rm"), "reward.model", nil),
        (manifest(name: "x", reward: "  verifier: hybrid\n  rule: code_tests"), "reward.rule", 10),
        (manifest(name: "x", reward: "  verifier: regex\n  pattern: '(unclosed'"), "reward.pattern", 10),
        (manifest(name: "x", reward: "  verifier: math\n  math: {last_number_fallback: maybe}"), "reward.math.last_number_fallback", 10),
        (manifest(name: "x", reward: "  verifier: math", extra: "generator: {name: arith, operations: ['+', '%']}\n"), "generator.operations", 8),
        (manifest(name: "x", reward: "  verifier: generative_rm"), "reward.judge", nil),
        (manifest(name: "x", reward: "  verifier: generative_rm\n  judge: {name: j, votes: 3}"), "reward.judge.votes", 10),
        (manifest(name: "x", reward: "  verifier: generative_rm\n  judge: {samples: 0}"), "reward.judge.samples", 10),
        (manifest(name: "x", reward: "  verifier: generative_rm\n  judge: {samples: 2, min_valid: 3}"), "reward.judge.min_valid", 10),
        (manifest(name: "x", reward: "  verifier: generative_rm\n  judge: {template: ../../etc/t.yaml}"), "reward.judge.template", 10),
        (manifest(name: "x", reward: "  verifier: hybrid\n  model: m\n  escalate: {when: spread}"), "reward.escalate", 11),
        (manifest(name: "x", reward: "  verifier: hybrid\n  escalate: {when: sometimes}"), "reward.escalate.when", 10),
        (manifest(name: "x", reward: "  verifier: hybrid\n  weights: {rule: 1, scalar_rm: 1}"), "reward.weights", 10),
        (manifest(name: "x", reward: "  verifier: hybrid\n  weights: {rule: 0}"), "reward.weights", 10),
        (manifest(name: "x", reward: "  verifier: hybrid\n  weights: {oracle: 1}"), "reward.weights.oracle", 10),
        (manifest(name: "x", reward: "  verifier: math\n  escalate: {when: always}"), "reward.escalate", 10),
        (manifest(name: "x", reward: "  verifier: generative_rm\n  judge: {group: all}"), "reward.judge.group", 10),
        (manifest(name: "x", reward: "  verifier: generative_rm\n  judge: {length_penalty: 1}"), "reward.judge.length_penalty", 10),
    ])
    func errorsNameFieldAndLine(yaml: String, field: String, line: Int?) {
        do {
            _ = try ManifestParser.parse(yaml: yaml, file: "p/pack.yaml")
            Issue.record("expected an error about \(field)")
        } catch let error as EnvrunError {
            #expect(error.code == .invalidInput)
            #expect(error.field == field, "\(error)")
            if let line { #expect(error.message.hasPrefix("p/pack.yaml:\(line): "), "\(error)") }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func parsesAJudgeAndTheRouter() throws {
        let m = try ManifestParser.parse(yaml: manifest(name: "h", reward: """
              verifier: hybrid
              model: Models/m
              judge: {name: big, template: deepseek-grm-v1, samples: 4, temperature: 0.7, seed: 3, max_tokens: 512,
                      shuffle: false, k_meta: 2, meta_model: Models/meta, length_penalty: 0.5, constrain: false,
                      group: joint}
              escalate: {when: spread, spread_below: 0.2, min_group: 3}
              weights: {rule: 1, generative_rm: 0.5}
            """))
        let j = try #require(m.reward.generativeRM)
        #expect(j.judge == "big" && j.templateReference == "deepseek-grm-v1" && j.metaModel == "Models/meta" && j.joint)
        var g = GRMSettings(samples: 4)
        g.temperature = 0.7
        g.seed = 3
        g.maxTokens = 512
        g.shuffle = false
        g.kMeta = 2
        g.lengthPenalty = 0.5
        g.constrain = false
        #expect(j.sampling == g)
        #expect(m.reward.route == RouteSettings(escalate: .spread, spreadBelow: 0.2, minGroup: 3,
                                                weights: [.rule: 1, .generativeRM: 0.5]))
    }

    @Test func templateMustUsePrompt() {
        let yaml = manifest(name: "x", reward: "  verifier: math").replacingOccurrences(of: "{{prompt}}", with: "{{question}}")
        #expect(throws: EnvrunError.self) { try ManifestParser.parse(yaml: yaml) }
    }

    @Test func notYAMLIsAClearError() {
        #expect {
            try ManifestParser.parse(yaml: "name: [unclosed\n  - x: : :", file: "pack.yaml")
        } throws: { error in
            (error as? EnvrunError)?.message.contains("not valid YAML") == true
        }
    }

    @Test func tasksMustBeJSONL() {
        let yaml = manifest(name: "x", reward: "  verifier: math").replacingOccurrences(of: "tasks.jsonl", with: "../../etc/passwd")
        #expect { try ManifestParser.parse(yaml: yaml) } throws: { ($0 as? EnvrunError)?.field == "tasks" }
    }
}
