import ArgumentParser
import EnvrunCore
import EnvrunJudge
import EnvrunRM
import EnvrunRewards
import Foundation

extension RMCommand {
    struct Distill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "RLAIF distillation: a judge labels preference pairs, a scalar head learns the judge's preferences.",
            discussion: """
                The judge (see envrun grm --help) scores each training pair's two responses;
                the response it prefers becomes "chosen" (ties and failures are dropped) and
                the head is trained on those labels as rm train trains (written to OUT with
                OUT/judge-pairs.jsonl). Then, on the held-out slice (every
                --holdout-every-th pair, never trained on), it reports the judge against the
                human labels, the head against the judge and the head against the human
                labels, beside longer-wins.
                  envrun rm distill --out Models/distilled --train-pairs 500 \\
                    --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz \\
                    --judge http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-7B-Instruct
                """)

        @OptionGroup var common: Common
        @OptionGroup var judge: GRMCommand.JudgeOptions
        @Option(help: "Preference pairs: JSONL (or .jsonl.gz) of {prompt, chosen, rejected} or HH-RLHF dialogues.")
        var pairs: String
        @Option(help: "Output folder for the head.") var out: String
        @Option(help: "Training pairs the judge labels.") var trainPairs = 200
        @Option(help: "Held-out pairs measured.") var heldOutPairs = 100
        @Option(help: "Hold out every K-th pair.") var holdoutEvery = 5
        @Option(help: "Epochs.") var epochs = 30
        @Option(help: "Embedding cache file ('' for none).") var cache = ".cache/rm-embeddings/minilm.bin"
        @Flag(help: "Print the report as JSON.") var json = false

        func run() async throws {
            common.apply()
            guard holdoutEvery >= 2 else { throw ValidationError("--holdout-every must be at least 2") }
            var options = RMDistillation.Options()
            options.trainPairs = trainPairs
            options.heldOutPairs = heldOutPairs
            options.holdoutEvery = holdoutEvery
            options.concurrency = judge.concurrency
            options.training.epochs = epochs
            options.modelDir = common.modelDir
            options.cachePath = cache.isEmpty ? nil : cache
            let report = try await RMDistillation.run(
                pairs: try PreferencePairs.load(pairs), judge: try judge.generativeRM(), settings: try judge.settings(),
                options: options, outDir: out, log: RMCommand.log)
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(report), as: UTF8.self))
                return
            }
            func line(_ name: String, _ o: PairwiseEval.Outcome) -> String {
                o.line(name, width: 24, right: "agree", wrong: "disagree")
            }
            print("training pairs \(report.trainPairs): the judge preferred one in \(report.labelled) (ties \(report.judgeTies), errors \(report.judgeErrors))")
            print(line("judge vs human (train)", report.judgeVsHumanTrain))
            print("held out \(report.headVsHuman.pairs) pairs:")
            print(line("judge vs human", report.judgeVsHuman))
            print(line("head vs judge", report.headVsJudge))
            print(line("head vs human", report.headVsHuman))
            print(line("longer wins vs human", report.longerWinsVsHuman))
        }
    }
}
