import EnvrunCore
import EnvrunJudge
import EnvrunRewards
import EnvrunVerify
import Foundation
import Yams

/// Parses and checks `pack.yaml`. Every error names the file, the line and the field.
public enum ManifestParser {
    static let topKeys = [
        "name", "version", "description", "license", "source", "tasks", "prompt_template", "reward", "generator",
    ]

    /// Reward parameters each verifier accepts (besides `verifier`). Every verifier also takes the
    /// sources a task's own `route` may send it to (`routeKeys`).
    static let rewardKeys: [VerifierKind: [String]] = [
        .math: ["math", "multi_turn"],
        .exact: ["case_sensitive", "multi_turn"],
        .regex: ["pattern", "full_match", "multi_turn"],
        .codeTests: ["language", "mode", "limits", "multi_turn", "feedback"],
        .codeIO: ["language", "mode", "limits", "compare", "multi_turn", "feedback"],
        .grmRule: [],
        .scalarRM: [],
        .generativeRM: [],
        .hybrid: [
            "math", "case_sensitive", "pattern", "full_match", "language", "mode", "limits", "compare", "feedback",
            "escalate", "weights",
        ],
    ]
    static let routeKeys = ["rule", "model", "sigmoid", "judge"]
    static let judgeKeys = [
        "name", "template", "samples", "temperature", "seed", "max_tokens", "shuffle", "format_retries", "min_valid",
        "k_meta", "meta_model", "length_penalty", "constrain", "group",
    ]

    public static func parse(yaml: String, file: String = "pack.yaml", limits: PackLimits = .default) throws -> PackManifest {
        try YAMLAliases.reject(in: yaml, file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw EnvrunError(.invalidInput, "\(file): the manifest is empty", field: "(document)")
            }
            root = node
        } catch let error as YamlError {
            throw EnvrunError(.invalidInput, "\(file): not valid YAML: \(error)", field: "(document)")
        }
        let top = try YAMLFields(file: file, path: "", node: root)
        try top.rejectUnknownKeys(topKeys)

        let name = try top.requiredString("name")
        guard name.range(of: "^[a-z0-9][a-z0-9._-]*$", options: .regularExpression) != nil else {
            throw top.error("name", "must be lower-case letters, digits, '.', '_' or '-' (got \"\(name)\")")
        }
        let version = try top.requiredString("version")
        let description = try top.requiredString("description")
        let license = try top.requiredString("license")
        let source = try top.requiredString("source")
        let tasksFile = try top.requiredString("tasks")
        guard tasksFile.hasSuffix(".jsonl") || tasksFile.hasSuffix(".jsonl.gz"), !tasksFile.contains("..") else {
            throw top.error("tasks", "must name a .jsonl or .jsonl.gz file inside the pack (got \"\(tasksFile)\")")
        }
        let template = try top.string("prompt_template") ?? "{{prompt}}"
        guard template.utf8.count <= limits.templateBytes else {
            throw top.error(
                "prompt_template",
                "is \(template.utf8.count) bytes, over the limit of \(PackLimits.bytes(limits.templateBytes)); refused")
        }
        let placeholders = PackManifest.placeholders(in: template)
        guard placeholders > 0 else {
            throw top.error("prompt_template", "must contain {{prompt}}")
        }
        guard placeholders <= limits.templatePlaceholders else {
            throw top.error(
                "prompt_template",
                "contains {{prompt}} \(placeholders) times, over the limit of \(limits.templatePlaceholders) "
                    + "(each copy multiplies every prompt); refused")
        }
        guard let rewardFields = try top.child("reward") else { throw top.error("reward", "is required") }

        var manifest = PackManifest(
            name: name, version: version, description: description, license: license, source: source,
            tasksFile: tasksFile, promptTemplate: template, reward: try reward(rewardFields))
        if let generator = try top.child("generator") {
            manifest.generator = try self.generator(generator)
        }
        return manifest
    }

    static func reward(_ f: YAMLFields) throws -> RewardSpec {
        guard let verifier = try f.oneOf("verifier", VerifierKind.self) else { throw f.error("verifier", "is required") }
        try f.rejectUnknownKeys(
            ["verifier"] + (rewardKeys[verifier] ?? []) + routeKeys, context: "for verifier \(verifier.rawValue)")
        var spec = RewardSpec(verifier: verifier)
        if let m = try f.child("math") {
            try m.rejectUnknownKeys(["last_number_fallback", "float_tolerance", "rounded_decimals", "rename_variables",
                                     "step_rewards"])
            var options = VerifyOptions()
            if let v = try m.bool("last_number_fallback") { options.lastNumberFallback = v }
            options.floatTolerance = try m.double("float_tolerance")
            // 0: decimals are exact.
            if let v = try m.int("rounded_decimals", range: 0...40) { options.roundedDecimals = v == 0 ? nil : v }
            if let v = try m.bool("rename_variables") { options.renameVariables = v }
            spec.math = options
            spec.mathSteps = try m.oneOf("step_rewards", MathStepRule.self)
        }
        if let v = try f.bool("case_sensitive") { spec.exact.caseSensitive = v }
        spec.regex.pattern = try f.string("pattern")
        if let v = try f.bool("full_match") { spec.regex.fullMatch = v }
        if let p = spec.regex.pattern, (try? NSRegularExpression(pattern: p)) == nil {
            throw f.error("pattern", "is not a valid regular expression")
        }
        if let v = try f.string("language") { spec.code.language = v }
        if let v = try f.oneOf("mode", CodeRewardMode.self) { spec.code.mode = v }
        if let v = try f.oneOf("feedback", CodeFeedback.self) { spec.code.feedback = v }
        if let l = try f.child("limits") {
            try l.rejectUnknownKeys(["cpu_ms", "wall_ms", "memory_mb", "output_bytes", "processes", "file_size_mb"])
            spec.code.limits = ExecLimits(
                cpuMs: try l.int("cpu_ms", range: 1...600_000), wallMs: try l.int("wall_ms", range: 1...600_000),
                memoryMB: try l.int("memory_mb", range: 1...65_536),
                outputBytes: try l.int("output_bytes", range: 1...(1 << 30)),
                processes: try l.int("processes", range: 1...4096),
                fileSizeMB: try l.int("file_size_mb", range: 0...65_536))
        }
        if let c = try f.child("compare") {
            try c.rejectUnknownKeys(["ignore_whitespace", "float_tolerance"])
            if let v = try c.bool("ignore_whitespace") { spec.code.comparison.ignoreWhitespace = v }
            spec.code.comparison.floatTolerance = try c.double("float_tolerance")
        }
        if let turns = try f.child("multi_turn") {
            try turns.rejectUnknownKeys(["max_turns"])
            spec.maxTurns = try turns.int("max_turns", range: 1...100) ?? 1
        }
        if let model = try f.string("model") {
            spec.scalarRM = ScalarRMSettings(model: model, sigmoid: try f.bool("sigmoid") ?? false)
        } else if verifier == .scalarRM {
            throw f.error("model", "is required for verifier scalar_rm (a head directory such as Models/NAME)")
        }
        if let rule = try f.oneOf("rule", VerifierKind.self) {
            guard [.math, .exact, .regex].contains(rule) else {
                throw f.error("rule", "must be math, exact or regex (got \"\(rule.rawValue)\")")
            }
            spec.hybridRule = rule
        }
        if let j = try f.child("judge") {
            spec.generativeRM = try judge(j)
        } else if verifier == .generativeRM {
            throw f.error("judge", "is required for verifier generative_rm (at least `judge: {name: default}`)")
        }
        if let e = try f.child("escalate") {
            try e.rejectUnknownKeys(["when", "spread_below", "min_group"])
            if let v = try e.oneOf("when", EscalationPolicy.self) { spec.route.escalate = v }
            if let v = try e.double("spread_below") { spec.route.spreadBelow = v }
            if let v = try e.int("min_group", range: 1...GenerativeRewardModel.maxResponses) { spec.route.minGroup = v }
            if spec.route.escalate != .never && spec.generativeRM == nil {
                throw f.error("escalate", "escalates to a judge, but the reward sets no judge")
            }
        }
        if let w = try f.child("weights") {
            try w.rejectUnknownKeys(RouteKind.allCases.filter { $0 != .hybrid }.map(\.rawValue))
            var weights: [RouteKind: Double] = [:]
            for kind in RouteKind.allCases where kind != .hybrid {
                if let v = try w.double(kind.rawValue) { weights[kind] = v }
            }
            guard weights.values.contains(where: { $0 > 0 }) else {
                throw f.error("weights", "must give at least one of rule, scalar_rm, generative_rm a weight above 0")
            }
            if (weights[.scalarRM] ?? 0) > 0 && spec.scalarRM == nil {
                throw f.error("weights", "weights scalar_rm, but the reward sets no model")
            }
            if (weights[.generativeRM] ?? 0) > 0 && spec.generativeRM == nil {
                throw f.error("weights", "weights generative_rm, but the reward sets no judge")
            }
            spec.route.weights = weights
        }
        return spec
    }

    /// `reward.judge`: which configured judge, which template, how to sample.
    static func judge(_ j: YAMLFields) throws -> GenerativeRMSettings {
        try j.rejectUnknownKeys(judgeKeys)
        var s = GenerativeRMSettings()
        if let v = try j.string("name") { s.judge = v }
        if let v = try j.string("template") {
            guard !v.isEmpty, !v.contains("..") else { throw j.error("template", "must name a template or a file in the pack") }
            s.templateReference = v
        }
        var g = GRMSettings()
        if let v = try j.int("samples", range: 1...64) { g.samples = v }
        g.temperature = try j.double("temperature")
        if let v = try j.int("seed", range: 0...Int.max) { g.seed = UInt64(v) }
        if let v = try j.int("max_tokens", range: 16...32_768) { g.maxTokens = v }
        if let v = try j.bool("shuffle") { g.shuffle = v }
        if let v = try j.int("format_retries", range: 0...10) { g.formatRetries = v }
        g.minValid = try j.int("min_valid", range: 1...64)
        g.kMeta = try j.int("k_meta", range: 1...64)
        if let v = try j.double("length_penalty") { g.lengthPenalty = v }
        if let v = try j.bool("constrain") { g.constrain = v }
        if let m = g.minValid, m > g.samples { throw j.error("min_valid", "is more than samples (\(g.samples))") }
        s.sampling = g
        s.metaModel = try j.string("meta_model")
        if let group = try j.string("group") {
            guard ["pointwise", "joint"].contains(group) else {
                throw j.error("group", "must be pointwise (one response per judge prompt) or joint (got \"\(group)\")")
            }
            s.joint = group == "joint"
        }
        if g.lengthPenalty != 0 && !s.joint {
            throw j.error("length_penalty", "compares the responses of one judge prompt: it needs group: joint")
        }
        return s
    }

    static func generator(_ g: YAMLFields) throws -> GeneratorSpec {
        try g.rejectUnknownKeys(["name", "seed", "count", "digits", "operations", "depth"])
        let name = try g.requiredString("name")
        guard name == "arith" else { throw g.error("name", "unknown generator \"\(name)\" (known: arith)") }
        var p = ArithParameters()
        if let v = try g.int("seed", range: 0...Int.max) { p.seed = UInt64(v) }
        if let v = try g.int("count", range: 1...1_000_000) { p.count = v }
        if let v = try g.int("digits", range: 1...ArithParameters.maxDigits) { p.digits = v }
        if let v = try g.int("depth", range: 1...ArithParameters.maxDepth) { p.depth = v }
        if let ops = try g.stringList("operations") {
            var parsed: [ArithOperation] = []
            for op in ops {
                guard let o = ArithOperation(rawValue: op) else {
                    throw g.error("operations", "unknown operation \"\(op)\" (known: + - * /)")
                }
                parsed.append(o)
            }
            guard !parsed.isEmpty else { throw g.error("operations", "must name at least one operation") }
            p.operations = parsed
        }
        return GeneratorSpec(name: name, arith: p)
    }
}
