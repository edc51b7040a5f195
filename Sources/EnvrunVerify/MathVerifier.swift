import EnvrunCore

/// `ok`: both answers were read and compared (see `equivalent`). `unparseable`: the prediction holds no answer
/// or one that cannot be read. `error`: the gold cannot be read, a work limit was hit, or the comparison could
/// not be decided. A status other than `ok` always comes with `equivalent == false` and a message.
/// `ok`: decided. `unparseable`: the prediction holds no readable answer. `undecided`: the prediction was
/// read but could not be compared (it does not evaluate, or it spends the work budget). Both are the
/// response's doing: a reward of 0, never a masked sample (or a policy learns to escape a 0 by writing
/// answers the checker cannot handle). `error`: envrun's or the pack's fault (the gold does not parse).
public enum VerifyStatus: String, Codable, Sendable {
    case ok, unparseable, undecided, error
}

public struct VerifyOptions: Codable, Sendable, Equatable {
    /// Fall back to the last number in the response when no marked answer is found.
    public var lastNumberFallback: Bool = true
    /// When set, answers written with decimals match within this relative tolerance (e.g. 0.333 vs 1/3 at 1e-3).
    /// Without it, decimals are exact: 0.333 ≠ 1/3.
    public var floatTolerance: Double? = nil
    /// A decimal answer equals an exact gold when it is the gold correctly rounded to the places shown and
    /// has at least this many significant digits (`0.6667` for 2/3); nil: decimals are exact. Four digits tell
    /// a value from its usual near misses (π = 3.142 and 22/7 = 3.143; 3.14 is both), so a policy cannot win
    /// with a rough estimate. Compare Math-Verify's `float_rounding`.
    public var roundedDecimals: Int? = 4
    /// Accept an answer that differs from the gold only by the name of one free variable (`g(t)` vs `g(s)`).
    /// Off by default: `2x` and `2y` can be different answers (a function of x vs of y).
    public var renameVariables: Bool = false
    /// Use every `\boxed{}` of the response as one set answer instead of the last one.
    public var allBoxes: Bool = false
    /// A response with no answer marker is taken whole when it is one line at most this long.
    public var shortAnswerLength: Int = 2_000
    /// Hard limits on the work of one call.
    public var limits: VerifyLimits = VerifyLimits()
    public init() {}

    enum CodingKeys: String, CodingKey {
        case lastNumberFallback, floatTolerance, roundedDecimals, renameVariables, allBoxes, shortAnswerLength, limits
    }

    /// Missing keys keep their defaults, so `{"lastNumberFallback": false}` is a complete configuration.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VerifyOptions()
        lastNumberFallback = try c.decodeIfPresent(Bool.self, forKey: .lastNumberFallback) ?? d.lastNumberFallback
        floatTolerance = try c.decodeIfPresent(Double.self, forKey: .floatTolerance)
        roundedDecimals = c.contains(.roundedDecimals)
            ? try c.decodeIfPresent(Int.self, forKey: .roundedDecimals) : d.roundedDecimals
        renameVariables = try c.decodeIfPresent(Bool.self, forKey: .renameVariables) ?? d.renameVariables
        allBoxes = try c.decodeIfPresent(Bool.self, forKey: .allBoxes) ?? d.allBoxes
        shortAnswerLength = try c.decodeIfPresent(Int.self, forKey: .shortAnswerLength) ?? d.shortAnswerLength
        limits = try c.decodeIfPresent(VerifyLimits.self, forKey: .limits) ?? d.limits
    }
}

public struct VerifyResult: Codable, Sendable, Equatable {
    public var equivalent: Bool
    public var status: VerifyStatus
    public var goldParsed: String?
    public var predParsed: String?
    public var message: String?
    /// Work units this call used (never more than `VerifyLimits.maxWork`).
    public var work: Int

    public init(equivalent: Bool, status: VerifyStatus, goldParsed: String? = nil, predParsed: String? = nil,
                message: String? = nil, work: Int = 0) {
        self.equivalent = equivalent
        self.status = status
        self.goldParsed = goldParsed
        self.predParsed = predParsed
        self.message = message
        self.work = work
    }

    enum CodingKeys: String, CodingKey {
        case equivalent, status, message, work
        case goldParsed = "gold_parsed"
        case predParsed = "pred_parsed"
    }

    /// Always writes every key (null when absent), as the CLI contract lists them.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(equivalent, forKey: .equivalent)
        try c.encode(status, forKey: .status)
        try c.encode(goldParsed, forKey: .goldParsed)
        try c.encode(predParsed, forKey: .predParsed)
        try c.encode(message, forKey: .message)
        try c.encode(work, forKey: .work)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        equivalent = try c.decode(Bool.self, forKey: .equivalent)
        status = try c.decode(VerifyStatus.self, forKey: .status)
        goldParsed = try c.decodeIfPresent(String.self, forKey: .goldParsed)
        predParsed = try c.decodeIfPresent(String.self, forKey: .predParsed)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        work = try c.decodeIfPresent(Int.self, forKey: .work) ?? 0
    }
}

/// Extraction, parsing and equivalence of math answers. A value type with no shared state: call it from any
/// number of tasks at once.
public struct MathVerifier: Sendable {
    public var options: VerifyOptions
    public init(options: VerifyOptions = VerifyOptions()) { self.options = options }

    /// The final answer in a model response, or nil (see `AnswerExtractor`).
    public func extractAnswer(from response: String) -> String? {
        AnswerExtractor(options: options).extract(from: response)
    }

    /// `pred` may be a whole model response; the answer is extracted from it. `gold` may be a bare answer or a
    /// whole reference solution (its `\boxed{}` or `####` answer is used).
    public func verify(gold: String, pred: String) -> VerifyResult {
        let budget = Budget(options.limits)
        func result(_ eq: Bool, _ status: VerifyStatus, _ g: String?, _ p: String?, _ m: String?) -> VerifyResult {
            VerifyResult(equivalent: eq, status: status, goldParsed: g, predParsed: p, message: m, work: budget.used)
        }
        let maxLen = options.limits.maxResponseLength
        if gold.utf8.count > maxLen { return result(false, .error, nil, nil, "gold longer than \(maxLen) bytes") }
        if pred.utf8.count > maxLen { return result(false, .unparseable, nil, nil, "prediction longer than \(maxLen) bytes") }
        let extractor = AnswerExtractor(options: options)
        let goldText = extractor.extractGold(from: gold)
        guard let predText = extractor.extract(from: pred) else {
            return result(false, .unparseable, nil, nil, "no answer found in the prediction")
        }
        var sameText: Bool {
            AnswerParser.normalizeForComparison(goldText) == AnswerParser.normalizeForComparison(predText)
        }
        let g: Expr
        do {
            g = try AnswerParser.parse(goldText, budget: budget)
        } catch {
            if sameText { return result(true, .ok, goldText, predText, "gold unparseable (\(error.message)); same text") }
            return result(false, .error, nil, nil, "gold answer unparseable: \(error.message)")
        }
        let first = compare(g, goldText, predText, budget: budget, result: result)
        guard !first.equivalent, first.status != .error else { return first }
        // Readings a grader makes without a second thought, only when the answer as written does not match.
        if g.itemCount == 1, let variant = AnswerVariants.decimalComma(predText) {
            let r = compare(g, goldText, variant, budget: budget, result: result)
            if r.equivalent { return r }
        }
        if g.freeVariables.isEmpty, let variant = AnswerVariants.withoutUnits(predText) {
            let r = compare(g, AnswerVariants.withoutUnits(goldText) ?? goldText, variant, budget: budget, result: result)
            if r.equivalent { return r }
        }
        guard !options.allBoxes, g.itemCount > 1 else { return first }
        // Several boxed answers against a gold of several items (`\boxed{3}, \boxed{7}` vs `3, 7`): the
        // boxes together are the answer, compared as a set (an extra or a missing one is wrong).
        let boxes = AnswerExtractor.boxes(in: pred)
        guard boxes.count == g.itemCount || (boxes.count > 1 && Set(boxes).count == g.itemCount) else { return first }
        // Joined with `;`, so boxes that are systems (`\boxed{a=3,b=1}`) stay one solution each.
        let together = compare(g, goldText, boxes.joined(separator: "; "), budget: budget, result: result)
        return together.equivalent ? together : first
    }

    private func compare(
        _ g: Expr, _ goldText: String, _ predText: String, budget: Budget,
        result: (Bool, VerifyStatus, String?, String?, String?) -> VerifyResult
    ) -> VerifyResult {
        var sameText: Bool {
            AnswerParser.normalizeForComparison(goldText) == AnswerParser.normalizeForComparison(predText)
        }
        let p: Expr
        do {
            p = try AnswerParser.parse(predText, budget: budget)
        } catch {
            if sameText { return result(true, .ok, g.description, predText, "same text") }
            let status: VerifyStatus = error.kind == .limit ? .undecided : .unparseable
            return result(false, status, g.description, nil, "prediction unparseable: \(error.message)")
        }
        do {
            // Rounding reads the response's decimals only as the places written: not against a gold that is
            // itself a decimal (an exact value), nor when a decimal ends in a 0 (its places are not its value's).
            var o = options
            if g.containsDecimal || AnswerVariants.hasTrailingZeroDecimal(predText) { o.roundedDecimals = nil }
            let comparer = Comparer(budget: budget, options: o)
            switch try comparer.equal(g, p) {
            case .yes: return result(true, .ok, g.description, p.description, nil)
            case .no:
                if options.renameVariables, let renamed = Self.renamedOnto(g, p), try comparer.equal(g, renamed) == .yes {
                    return result(true, .ok, g.description, renamed.description, "variable renamed")
                }
                // A text answer against something that parsed as math (`\text{1:03 PM}` vs `1:03 PM`):
                // compare the two as text.
                if g.isText != p.isText, Comparer.normalizeText(goldText) == Comparer.normalizeText(predText),
                    !Comparer.normalizeText(goldText).isEmpty {
                    return result(true, .ok, g.description, p.description, "same text")
                }
                return result(false, .ok, g.description, p.description, nil)
            case .unknown:
                if sameText { return result(true, .ok, g.description, p.description, "same text") }
                return result(false, .undecided, g.description, p.description, "could not decide (no valid evaluation points)")
            }
        } catch {
            if sameText { return result(true, .ok, g.description, p.description, "same text") }
            return result(false, .undecided, g.description, p.description, error.message)
        }
    }
}

extension MathVerifier {
    /// `p` with its one variable the gold lacks renamed to the gold's one variable `p` lacks; nil otherwise.
    static func renamedOnto(_ g: Expr, _ p: Expr) -> Expr? {
        let (gv, pv) = (g.freeVariables, p.freeVariables)
        let onlyGold = gv.subtracting(pv), onlyPred = pv.subtracting(gv)
        guard onlyGold.count == 1, onlyPred.count == 1 else { return nil }
        return p.renaming([onlyPred.first!: onlyGold.first!])
    }
}

extension Expr {
    /// Items of a set or list answer (a system's assignments, the solutions of a system); 1 otherwise.
    var itemCount: Int {
        switch self {
        case .set(let xs): return xs.count
        default: return 1
        }
    }
}
