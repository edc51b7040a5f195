import ArgumentParser
import EnvrunVerify
import Foundation

struct BenchVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Benchmark the math verifier against Math-Verify on MATH-500 and GSM8K, in one run.",
        discussion: """
            Checks every reference solution against its gold answer (MATH-500: `solution` vs `answer`; GSM8K: \
            the reference solution vs the number after ####) and, when given, GSM8K's example model solutions \
            against their `is_correct` labels, and MATH-500 gold answers rewritten in another notation (expected \
            equivalent) or broken — a digit changed, a bracket flipped, ± or a list item dropped (expected not \
            equivalent) — each inside a short response, and the labelled model-style responses of \
            scripts/bench/real_responses.jsonl (answers in prose, relations, several boxes, units, rounded \
            decimals, …), with agreement by class. Prints checks/s (median of --repeats passes, one thread), \
            agreement with the expected verdicts, and — when a Python with math-verify is available — the same \
            figures for Math-Verify on the same pairs, the speed ratio, and every pair where the two disagree (with \
            which one the label says is right).

            Math-Verify runs from .venv-bench/ (created with /usr/bin/python3 -m venv and `pip install \
            math-verify==0.9.0` on first use unless --no-install), or from --python. \
            Files: task packs (Tasks/<pack>/tasks.jsonl.gz) or the raw dataset files; .gz is read with gzip -dc.
            """)

    @Option(help: "MATH-500 pairs ('none' skips it; default: Tasks/math500/tasks.jsonl.gz, else ../shared/data/math500/test.jsonl).")
    var math500: String?

    @Option(help: "GSM8K pairs ('none' skips it; default: Tasks/gsm8k/tasks.jsonl.gz, else ../shared/data/gsm8k/test.jsonl).")
    var gsm8k: String?

    @Option(help: "GSM8K example model solutions with is_correct labels ('none' skips it; default: ../shared/data/gsm8k/example_model_solutions.jsonl.gz if present).")
    var gsm8kModels: String?

    @Option(help: "Labelled (gold, response) pairs written the way models answer ('none' skips it; default: scripts/bench/real_responses.jsonl).")
    var responses: String?

    @Option(help: "Passes over the pairs for envrun's timing (the median is reported).")
    var repeats = 5

    @Option(help: "A Python that has math-verify installed (default: .venv-bench/bin/python).")
    var python: String?

    @Flag(help: "Do not create .venv-bench or pip install math-verify; skip Math-Verify when it is missing.")
    var noInstall = false

    @Flag(help: "Run envrun's verifier only.")
    var noMathVerify = false

    @Flag(help: "Skip the rewritten/perturbed MATH-500 answers.")
    var noVariants = false

    @Option(help: "Math-Verify script.")
    var script = "scripts/bench/mathverify_bench.py"

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() async throws {
        var sets: [(String, String)] = []
        if let p = math500 ?? firstExisting(["Tasks/math500/tasks.jsonl.gz", "../shared/data/math500/test.jsonl"]) {
            sets.append(("MATH-500 (solution vs answer)", p))
            if !noVariants { sets.append(("MATH-500 answers rewritten (#same) or broken (#digit #bracket #pm #drop)", p)) }
        }
        if let p = gsm8k ?? firstExisting(["Tasks/gsm8k/tasks.jsonl.gz", "../shared/data/gsm8k/test.jsonl"]) {
            sets.append(("GSM8K (reference solution vs answer)", p))
        }
        if let p = gsm8kModels ?? firstExisting(["../shared/data/gsm8k/example_model_solutions.jsonl.gz"]) {
            sets.append(("GSM8K model solutions vs is_correct", p))
        }
        if let p = responses ?? firstExisting(["scripts/bench/real_responses.jsonl"]) {
            sets.append(("Model-style responses vs labels (by class)", p))
        }
        if sets.isEmpty { throw ValidationError("no data found: give --math500 / --gsm8k") }
        let py = noMathVerify ? nil : try BenchPython.find(explicit: python, install: !noInstall)
        if py == nil && !noMathVerify { print("Math-Verify: not available; measuring envrun only") }
        print("envrun bench verify — \(Date())")
        let verifier = MathVerifier()
        for (name, path) in sets where path != "none" {
            var pairs = try BenchData.pairs(fromJSONLines: try BenchFiles.readText(path), source: path)
            if name.hasPrefix("MATH-500 answers rewritten") { pairs = BenchVariants.make(from: pairs) }
            print("\n== \(name): \(pairs.count) pairs from \(path)")
            let ours = VerifierBenchRun.run(pairs, verifier: verifier, repeats: repeats)
            let oursRate = Double(pairs.count) / ours.medianSeconds
            let oursAgree = zip(pairs, ours.verdicts).filter { $0.expected == $1.equivalent }.count
            let statuses = Dictionary(grouping: ours.verdicts, by: \.status).mapValues(\.count)
            print(String(format: "envrun:      %9.0f checks/s (median of %d passes)  agreement %d/%d = %.2f%%",
                         oursRate, repeats, oursAgree, pairs.count, 100 * Double(oursAgree) / Double(pairs.count)))
            print("             statuses: " + statuses.map { "\($0.key.rawValue) \($0.value)" }.sorted().joined(separator: ", "))
            for (p, v) in zip(pairs, ours.verdicts) where v.status != .ok {
                print("  \(v.status.rawValue)  \(p.id): gold \(show(p.gold)) | pred \(show(verifier.extractAnswer(from: p.pred) ?? "-")) | \(v.message ?? "")")
            }
            for (p, v) in zip(pairs, ours.verdicts) where p.expected != v.equivalent {
                print("  envrun≠expected  \(p.id): gold \(show(p.gold)) | pred \(show(verifier.extractAnswer(from: p.pred) ?? "-")) | \(v.status.rawValue) \(v.message ?? "")")
            }
            guard let py else { continue }
            let mv = try BenchPython.runMathVerify(python: py, script: script, pairs: pairs)
            let mvRate = Double(pairs.count) / mv.seconds
            let mvAgree = zip(pairs, mv.results).filter { $0.expected == $1 }.count
            print(String(format: "Math-Verify: %9.1f checks/s (one pass)            agreement %d/%d = %.2f%%",
                         mvRate, mvAgree, pairs.count, 100 * Double(mvAgree) / Double(pairs.count)))
            print(String(format: "ratio:       %.0fx", oursRate / mvRate))
            if name.hasSuffix("(by class)") { printByClass(pairs, ours: ours.verdicts.map(\.equivalent), mathVerify: mv.results) }
            let disagreements = zip(pairs.indices, zip(ours.verdicts, mv.results)).filter { $1.0.equivalent != $1.1 }
            print("envrun vs Math-Verify disagreements: \(disagreements.count)")
            for (k, (v, m)) in disagreements {
                let p = pairs[k]
                // Who is right by the pair's label (the expected verdict).
                let right = v.equivalent == p.expected ? "envrun" : m == p.expected ? "Math-Verify" : "neither"
                print("  \(p.id): gold \(show(p.gold)) | pred \(show(verifier.extractAnswer(from: p.pred) ?? "-")) | expected \(p.expected) envrun \(v.equivalent) (\(v.status.rawValue)) Math-Verify \(m) | right: \(right)")
            }
        }
    }

    /// Agreement per class (the id's part before its last `-`), envrun and Math-Verify side by side.
    private func printByClass(_ pairs: [BenchPair], ours: [Bool], mathVerify: [Bool]) {
        var classes: [String: (n: Int, ours: Int, theirs: Int)] = [:]
        for (k, p) in pairs.enumerated() {
            let c = p.id.split(separator: "-").dropLast().joined(separator: "-")
            classes[c, default: (0, 0, 0)].n += 1
            if ours[k] == p.expected { classes[c]!.ours += 1 }
            if mathVerify[k] == p.expected { classes[c]!.theirs += 1 }
        }
        print("  class            pairs   envrun  Math-Verify")
        for (c, t) in classes.sorted(by: { $0.key < $1.key }) {
            print("  " + c.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: "%5d  %7d  %11d", t.n, t.ours, t.theirs))
        }
    }

    private func show(_ s: String) -> String {
        let one = s.replacingOccurrences(of: "\n", with: " ")
        return one.count > 80 ? "`" + one.prefix(77) + "...`" : "`" + one + "`"
    }

    private func firstExisting(_ paths: [String]) -> String? {
        paths.first { FileManager.default.fileExists(atPath: $0) }
    }
}
