import EnvrunCore
import Foundation

/// Sends every item to the source its route names and says so: each result carries `route` (the source
/// that answered) and `route_reason` (why) in its details. The route is the task's own `route` field, else
/// the pack's (from its verifier). Routes:
///
/// - `rule`: the code judge for tasks with tests or I/O cases, else the pack's rule (`math`, `exact`,
///   `regex`; for a non-rule pack its `reward.rule`, default `math`).
/// - `scalar_rm`, `generative_rm`: that model.
/// - `hybrid`: the rule when the task is verifiable and the rule can score the response; else the scalar
///   RM, escalating to the judge as `reward.escalate` says (a group whose RM scores are too close to tell
///   apart, or always). With `reward.weights`, every weighted source scores the item and the reward is
///   the weighted sum, each source's reward kept as a component.
///
/// Models score their items in one batch each (the judge per group of same-prompt items), so routing
/// costs no extra model calls.
public struct RewardRouter: Rewarder {
    public let packRoute: RouteKind
    let rule: any Rewarder
    let code: any Rewarder
    let scalar: (any Rewarder)?
    let judge: (any Rewarder)?
    let settings: RouteSettings
    /// A code pack: the rule route is always the code judge (which says what a task lacks).
    let ruleIsCode: Bool

    public init(
        packRoute: RouteKind, rule: any Rewarder, code: any Rewarder, scalar: (any Rewarder)?, judge: (any Rewarder)?,
        settings: RouteSettings = RouteSettings(), ruleIsCode: Bool = false
    ) {
        self.ruleIsCode = ruleIsCode
        self.packRoute = packRoute
        self.rule = rule
        self.code = code
        self.scalar = scalar
        self.judge = judge
        self.settings = settings
    }

    public func score(task: TaskSpec, response: String) async -> RewardResult {
        await score(batch: [(task, response)])[0]
    }

    typealias Item = (task: TaskSpec, response: String)

    public func score(batch: [(task: TaskSpec, response: String)]) async -> [RewardResult] {
        var out = [RewardResult?](repeating: nil, count: batch.count)
        var ruleItems: [Int] = [], scalarItems: [Int] = [], judgeItems: [Int] = [], hybridItems: [Int] = []
        for (i, item) in batch.enumerated() {
            guard let route = Self.route(of: item.task, default: packRoute) else {
                out[i] = Self.routed(
                    .error("task \(item.task.id): unknown route \"\(item.task.route ?? "")\" "
                           + "(known: \(RouteKind.allCases.map(\.rawValue).joined(separator: ", ")))"),
                    "none", "the task's route field is not a route")
                continue
            }
            switch route {
            case .rule: ruleItems.append(i)
            case .scalarRM: scalarItems.append(i)
            case .generativeRM: judgeItems.append(i)
            case .hybrid: hybridItems.append(i)
            }
        }
        let overridden = { (i: Int) in batch[i].task.route != nil ? "the task's route" : "the pack's route" }

        // Rules first: for hybrid items they decide whether a model is needed at all.
        let verifiable = hybridItems.filter { Self.verifiable(batch[$0].task) }
        let ruled = await scoreByRule(ruleItems + verifiable, batch)
        for i in ruleItems {
            out[i] = Self.routed(ruled[i]!, "rule", "\(overridden(i)) is rule")
        }
        var open: [Int] = []  // hybrid items the rule could not score
        for i in hybridItems {
            if let r = ruled[i], r.status != .notApplicable, settings.weights == nil {
                out[i] = Self.routed(r, "rule", "the task is verifiable (\(Self.verifiableBy(batch[i].task)))")
            } else {
                open.append(i)
            }
        }
        if let weights = settings.weights {
            let combined = await combine(open, batch, ruled: ruled, weights: weights)
            for (i, r) in combined { out[i] = r }
            open = []
        }

        // The scalar RM: its own route and hybrid's open items, in one batch.
        let scalarResults = await scoreBy(scalar, scalarItems + open, batch, missing: Self.noModel)
        for i in scalarItems {
            out[i] = Self.routed(scalarResults[i]!, "scalar_rm", "\(overridden(i)) is scalar_rm")
        }
        let openGroups = Self.groups(open, batch)
        var groupSize: [Int: Int] = [:]
        for group in openGroups { for i in group { groupSize[i] = group.count } }
        var escalate: [Int: String] = [:]
        for (group, reason) in escalations(openGroups, scalarResults) {
            for i in group { escalate[i] = reason }
        }
        for i in open where escalate[i] == nil {
            var reason = Self.verifiable(batch[i].task)
                ? "the rule could not score the response (\(ruled[i]?.details["verdict"] ?? "not_applicable"))"
                : "the task is open (no answer, tests or I/O cases)"
            if let note = spreadNote(groupSize: groupSize[i] ?? 1) { reason += "; \(note)" }
            if scalar == nil && judge != nil && settings.escalate != .never {
                escalate[i] = reason + "; no scalar RM, so the judge"
                continue
            }
            out[i] = Self.routed(scalarResults[i]!, scalar == nil ? "none" : "scalar_rm", reason)
        }

        // The judge: its own route and escalated items, grouped by prompt inside.
        let escalated = open.filter { escalate[$0] != nil }
        let judged = await scoreBy(judge, judgeItems + escalated, batch, missing: Self.noJudge)
        for i in judgeItems {
            out[i] = Self.routed(judged[i]!, "generative_rm", "\(overridden(i)) is generative_rm")
        }
        for i in escalated {
            var r = judged[i]!
            if let s = scalarResults[i], s.status == .ok, let raw = s.components["rm_score"] {
                r.components["rm_score"] = raw  // what the RM said, kept beside the judge's answer
            }
            out[i] = Self.routed(r, "generative_rm", escalate[i]!)
        }
        return out.map { $0 ?? .cancelledRequest }
    }

    static func route(of task: TaskSpec, default pack: RouteKind) -> RouteKind? {
        guard let name = task.route else { return pack }
        return RouteKind(rawValue: name)
    }

    static func verifiable(_ task: TaskSpec) -> Bool {
        task.tests != nil || task.ioCases?.isEmpty == false || task.answer != nil
    }

    static func verifiableBy(_ task: TaskSpec) -> String {
        if task.tests != nil { return "tests" }
        if task.ioCases?.isEmpty == false { return "I/O cases" }
        return "a gold answer"
    }

    static func routed(_ result: RewardResult, _ route: String, _ reason: String) -> RewardResult {
        var r = result
        r.details["route"] = route
        r.details["route_reason"] = reason
        return r
    }

    /// Code tasks to the code judge, the rest to the rule; one batch each.
    func scoreByRule(_ items: [Int], _ batch: [Item]) async -> [Int: RewardResult] {
        let codeItems = items.filter {
            ruleIsCode || batch[$0].task.tests != nil || batch[$0].task.ioCases?.isEmpty == false
        }
        let codeSet = Set(codeItems)
        let ruleItems = items.filter { !codeSet.contains($0) }
        async let coded = code.score(batch: codeItems.map { batch[$0] })
        async let ruled = rule.score(batch: ruleItems.map { batch[$0] })
        var out: [Int: RewardResult] = [:]
        for (i, r) in zip(codeItems, await coded) { out[i] = r }
        for (i, r) in zip(ruleItems, await ruled) { out[i] = r }
        return out
    }

    /// What a missing model source answers: `not_applicable` from that source, saying what the pack lacks.
    struct Missing {
        let source: RewardSource
        let reason: String
    }

    /// One batch through `source`; with no source, each item answers `missing`.
    func scoreBy(_ source: (any Rewarder)?, _ items: [Int], _ batch: [Item], missing: Missing) async -> [Int: RewardResult] {
        guard !items.isEmpty else { return [:] }
        let results: [RewardResult]
        if let source {
            results = await source.score(batch: items.map { batch[$0] })
        } else {
            results = items.map { _ in
                RewardResult(reward: 0, status: .notApplicable, source: missing.source, details: ["reason": missing.reason])
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(items, results))
    }

    /// `items` (batch indices) grouped by task id and prompt — a GRPO group — in order of first appearance.
    static func groups(_ items: [Int], _ batch: [Item]) -> [[Int]] {
        struct Key: Hashable {
            let id: String
            let prompt: String
        }
        var order: [Key] = []
        var members: [Key: [Int]] = [:]
        for i in items {
            let key = Key(id: batch[i].task.id, prompt: batch[i].task.prompt)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(i)
        }
        return order.map { members[$0]! }
    }

    /// Which open groups go to the judge, and why.
    func escalations(_ groups: [[Int]], _ scalar: [Int: RewardResult]) -> [([Int], String)] {
        guard judge != nil, !groups.isEmpty else { return [] }
        switch settings.escalate {
        case .never:
            return []
        case .always:
            return groups.map { ($0, "escalate: always") }
        case .spread:
            return groups.compactMap { group in
                guard group.count >= settings.minGroup else { return nil }
                let scores = group.compactMap { i in scalar[i].flatMap { $0.status == .ok ? $0.reward : nil } }
                guard scores.count == group.count, let lo = scores.min(), let hi = scores.max() else {
                    return (group, "the scalar RM could not score every response of the group")
                }
                guard hi - lo < settings.spreadBelow else { return nil }
                return (group, "the scalar RM is unsure: its scores of this group of \(group.count) spread "
                    + "\(Self.format(hi - lo)) < \(Self.format(settings.spreadBelow))")
            }
        }
    }

    /// Why a group that stays with the scalar RM under `spread` was not escalated.
    func spreadNote(groupSize: Int) -> String? {
        guard judge != nil, settings.escalate == .spread else { return nil }
        if groupSize < settings.minGroup {
            return "a group of \(groupSize) has no spread to judge by, so no escalation"
        }
        return "the RM's scores spread at least \(Self.format(settings.spreadBelow)), so no escalation"
    }

    /// Weighted combination: each weighted source that applies scores the item; the reward is the sum of
    /// weight × reward; each source's reward is a component. Any weighted source failing: status error.
    func combine(_ items: [Int], _ batch: [Item], ruled: [Int: RewardResult], weights: [RouteKind: Double]) async
        -> [(Int, RewardResult)]
    {
        guard !items.isEmpty else { return [] }
        async let s = scoreBy(
            (weights[.scalarRM] ?? 0) != 0 ? scalar : nil, (weights[.scalarRM] ?? 0) != 0 ? items : [], batch,
            missing: Self.noModel)
        async let j = scoreBy(
            (weights[.generativeRM] ?? 0) != 0 ? judge : nil, (weights[.generativeRM] ?? 0) != 0 ? items : [], batch,
            missing: Self.noJudge)
        let (scalarResults, judged) = await (s, j)
        return items.map { i in
            var parts: [(RouteKind, RewardResult)] = []
            if let w = weights[.rule], w != 0 {
                // An open task has no rule result: the rule does not apply.
                parts.append((.rule, ruled[i] ?? RewardResult(reward: 0, status: .notApplicable)))
            }
            if let r = scalarResults[i] { parts.append((.scalarRM, r)) }
            if let r = judged[i] { parts.append((.generativeRM, r)) }
            var combined = RewardResult(reward: 0, source: .hybrid)
            var used: [String] = [], skipped: [String] = []
            for (kind, r) in parts {
                switch r.status {
                case .notApplicable:
                    skipped.append(kind.rawValue)
                    continue
                case .error:
                    var e = RewardResult.error(
                        "\(kind.rawValue) failed: \(r.details["error"] ?? "error")", source: .hybrid)
                    e.details.merge(r.details) { mine, _ in mine }
                    return (i, Self.routed(e, "hybrid", "weighted: \(kind.rawValue) could not score"))
                case .ok:
                    let w = weights[kind]!
                    combined.reward += w * r.reward
                    combined.components[kind.rawValue] = r.reward
                    combined.components.merge(r.components) { mine, _ in mine }
                    combined.details.merge(r.details) { mine, _ in mine }
                    used.append("\(Self.format(w)) × \(kind.rawValue)")
                }
            }
            guard !used.isEmpty else {
                let r = RewardResult(reward: 0, status: .notApplicable, source: .hybrid,
                                     details: ["reason": "no weighted source could score this task"])
                return (i, Self.routed(r, "none", "weighted: \(skipped.joined(separator: ", ")) not applicable"))
            }
            var reason = "weighted: " + used.joined(separator: " + ")
            if !skipped.isEmpty { reason += "; not applicable: " + skipped.joined(separator: ", ") }
            return (i, Self.routed(combined, "hybrid", reason))
        }
    }

    static let noModel = Missing(source: .scalarRM, reason: "the pack sets no reward model (reward.model)")
    static let noJudge = Missing(source: .generativeRM, reason: "the pack sets no judge (reward.judge)")

    static func format(_ x: Double) -> String { String(format: "%.3g", x) }
}
