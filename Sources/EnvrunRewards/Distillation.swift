import EnvrunCore
import EnvrunJudge
import EnvrunRM
import Foundation

/// RLAIF distillation (`envrun rm distill`): the judge labels preference pairs, the scalar head is trained on
/// the judge's preferences (ties and failures dropped), and the head is measured on held-out pairs against both
/// the judge's labels and the human ones — so a cheap scalar RM can stand in for an expensive judge, and the
/// report says how faithfully.
public enum RMDistillation {
    public struct Options: Sendable {
        /// Training pairs to label (the held-out slice is never trained on).
        public var trainPairs = 200
        public var heldOutPairs = 100
        public var holdoutEvery = 5
        public var concurrency = 4
        public var training = TrainingConfig()
        public var modelDir: String?
        public var cachePath: String?
        public init() {}
    }

    public struct Report: Sendable, Codable {
        public var trainPairs: Int
        /// Pairs the judge preferred one response of (the training set of the head).
        public var labelled: Int
        public var judgeTies: Int
        public var judgeErrors: Int
        /// How often the judge agreed with the human label, on the training pairs it labelled.
        public var judgeVsHumanTrain: PairwiseEval.Outcome
        /// On the held-out pairs: the judge against humans, the head against the judge, the head against humans.
        public var judgeVsHuman: PairwiseEval.Outcome
        public var headVsJudge: PairwiseEval.Outcome
        public var headVsHuman: PairwiseEval.Outcome
        public var longerWinsVsHuman: PairwiseEval.Outcome

        enum CodingKeys: String, CodingKey {
            case labelled
            case trainPairs = "train_pairs"
            case judgeTies = "judge_ties"
            case judgeErrors = "judge_errors"
            case judgeVsHumanTrain = "judge_vs_human_train"
            case judgeVsHuman = "judge_vs_human"
            case headVsJudge = "head_vs_judge"
            case headVsHuman = "head_vs_human"
            case longerWinsVsHuman = "longer_wins_vs_human"
        }
    }

    public static func run(
        pairs all: [PreferencePair], judge: GenerativeRewardModel, settings: GRMSettings, options: Options,
        outDir: String, log: @escaping @Sendable (String) -> Void
    ) async throws -> Report {
        let split = PreferencePairs.holdOut(all, every: max(2, options.holdoutEvery))
        let train = Array(split.train.prefix(options.trainPairs))
        let held = Array(split.heldOut.prefix(options.heldOutPairs))
        guard train.count >= 2, !held.isEmpty else {
            throw EnvrunError(.invalidInput, "need at least 2 training pairs and 1 held-out pair (got \(train.count), \(held.count))", field: "pairs")
        }
        log("judging \(train.count) training pairs and \(held.count) held-out pairs")
        let trainVerdicts = await PairwiseEval.verdicts(train, model: judge, settings: settings, concurrency: options.concurrency) {
            done, total in if done == total || done % 20 == 0 { log("judged \(done)/\(total) training pairs") }
        }
        let heldVerdicts = await PairwiseEval.verdicts(held, model: judge, settings: settings, concurrency: options.concurrency) {
            done, total in if done == total || done % 20 == 0 { log("judged \(done)/\(total) held-out pairs") }
        }
        // The judge's preference as a pair: its winner is "chosen".
        func judged(_ pairs: [PairwiseEval.Pair], _ verdicts: [PairwiseEval.Verdict]) -> [PreferencePair] {
            zip(pairs, verdicts).compactMap { p, v in
                switch v {
                case .right: PreferencePair(prompt: p.prompt, chosen: p.chosen, rejected: p.rejected)
                case .wrong: PreferencePair(prompt: p.prompt, chosen: p.rejected, rejected: p.chosen)
                case .tie, .error: nil
                }
            }
        }
        let labelled = judged(train, trainVerdicts)
        guard labelled.count >= 2 else {
            throw EnvrunError(.unavailable, "the judge preferred a response in only \(labelled.count) training pairs", field: "judge")
        }
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let labelsPath = outDir + "/judge-pairs.jsonl"
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let lines = try labelled.map { String(decoding: try enc.encode($0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: labelsPath, atomically: true, encoding: .utf8)
        log("wrote the judge's \(labelled.count) preferences to \(labelsPath); training the head")

        var run = TrainingRun(pairFiles: [labelsPath], outDir: outDir)
        run.holdoutEvery = 0  // the held-out pairs are the human file's, measured below
        run.modelDir = options.modelDir
        run.cachePath = options.cachePath
        run.training = options.training
        run.commandLine = "envrun rm distill (judge \(judge.judgeName):\(judge.client.model), template \(judge.template.id))"
        _ = try run.run(log: log)

        let head = try EncoderRewardModel.load(modelDir: options.modelDir, headDir: outDir)
        let chosen = try await head.scores(prompts: held.map(\.prompt), responses: held.map(\.chosen))
        let rejected = try await head.scores(prompts: held.map(\.prompt), responses: held.map(\.rejected))
        let headVerdicts = zip(chosen, rejected).map { c, r -> PairwiseEval.Verdict in
            guard c.isFinite, r.isFinite else { return .error }
            return c == r ? .tie : (c > r ? .right : .wrong)
        }
        // Head against judge: on held-out pairs the judge preferred one of, agreement of their choices.
        let vsJudge = zip(headVerdicts, heldVerdicts).compactMap { h, j -> PairwiseEval.Verdict? in
            guard j == .right || j == .wrong else { return nil }
            guard h == .right || h == .wrong else { return h }
            return h == j ? .right : .wrong
        }
        return Report(
            trainPairs: train.count, labelled: labelled.count,
            judgeTies: trainVerdicts.filter { $0 == .tie }.count, judgeErrors: trainVerdicts.filter { $0 == .error }.count,
            judgeVsHumanTrain: PairwiseEval.tally(trainVerdicts), judgeVsHuman: PairwiseEval.tally(heldVerdicts),
            headVsJudge: PairwiseEval.tally(vsJudge), headVsHuman: PairwiseEval.tally(headVerdicts),
            longerWinsVsHuman: PairwiseEval.longerWins(held))
    }
}
