import EnvrunCore
import Foundation
import Yams

/// A judge prompt template: a versioned YAML file (`Judge/templates/NAME-vN.yaml`), never a string literal
/// in code. `{{query}}`, `{{responses}}` and `{{example}}` fill the user message; `{{index}}` and
/// `{{response}}` each response block; `{{scores}}` the optional grammar and regex for constrained decoding.
public struct JudgeTemplate: Sendable, Hashable {
    public var name: String
    public var version: Int
    public var system: String
    public var user: String
    public var response: String
    /// Text a query or response may not carry verbatim into the prompt (defused when it does).
    public var markers: [String]
    /// GBNF (llama.cpp's `grammar`), with `{{scores}}`.
    public var grammar: String?
    /// A regex of the whole output (vLLM structured outputs, SGLang), with `{{scores}}`.
    public var regex: String?

    public init(
        name: String, version: Int, system: String, user: String, response: String, markers: [String] = [],
        grammar: String? = nil, regex: String? = nil
    ) {
        self.name = name
        self.version = version
        self.system = system
        self.user = user
        self.response = response
        self.markers = markers
        self.grammar = grammar
        self.regex = regex
    }

    /// `name@version`: what results and cache keys name.
    public var id: String { "\(name)@v\(version)" }

    public static let defaultName = "deepseek-grm-v1"

    /// The shipped template of that file name (without `.yaml`) in `Judge/templates`, or a path to a file.
    public static func load(_ nameOrPath: String = defaultName) throws -> JudgeTemplate {
        let fm = FileManager.default
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") {
            return try parse(file: URL(fileURLWithPath: nameOrPath))
        }
        guard
            let dir = RepositoryLocator.find("Judge/templates", where: { fm.fileExists(atPath: $0.path) })
        else {
            throw EnvrunError(.notFound, "cannot find Judge/templates (run envrun from its checkout)", field: "template")
        }
        let file = dir.appendingPathComponent(nameOrPath + ".yaml")
        guard fm.fileExists(atPath: file.path) else {
            let known = ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? [])
                .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
            throw EnvrunError(
                .notFound, "no judge template \"\(nameOrPath)\" (known: \(known.joined(separator: ", ")))",
                field: "template")
        }
        return try parse(file: file)
    }

    public static func parse(file: URL) throws -> JudgeTemplate {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw EnvrunError(.notFound, "cannot read judge template \(file.path): \(error)", field: "template")
        }
        return try parse(yaml: text, file: file.lastPathComponent)
    }

    public static func parse(yaml: String, file: String = "template.yaml") throws -> JudgeTemplate {
        guard yaml.utf8.count <= 256 * 1024 else {
            throw EnvrunError(.invalidInput, "\(file): over 256 KiB; refused", field: "template")
        }
        let loaded: Any?
        do { loaded = try Yams.load(yaml: yaml) } catch {
            throw EnvrunError(.invalidInput, "\(file): not valid YAML: \(error)", field: "template")
        }
        guard let map = loaded as? [String: Any] else {
            throw EnvrunError(.invalidInput, "\(file): must be a mapping", field: "template")
        }
        let known: Set = ["name", "version", "description", "system", "user", "response", "markers", "grammar", "regex"]
        if let unknown = map.keys.filter({ !known.contains($0) }).sorted().first {
            throw EnvrunError(.invalidInput, "\(file): unknown key \"\(unknown)\"", field: unknown)
        }
        func string(_ key: String, required: Bool = true) throws -> String? {
            guard let v = map[key] else {
                if required { throw EnvrunError(.invalidInput, "\(file): \(key) is required", field: key) }
                return nil
            }
            guard let s = v as? String else {
                throw EnvrunError(.invalidInput, "\(file): \(key) must be a string", field: key)
            }
            return s
        }
        guard let version = map["version"] as? Int, version >= 1 else {
            throw EnvrunError(.invalidInput, "\(file): version must be a positive integer", field: "version")
        }
        let template = JudgeTemplate(
            name: try string("name")!, version: version, system: try string("system")!, user: try string("user")!,
            response: try string("response")!, markers: try Self.markers(map["markers"], response: try string("response")!, file: file),
            grammar: try string("grammar", required: false), regex: try string("regex", required: false))
        for (key, text, needed) in [
            ("user", template.user, ["{{query}}", "{{responses}}"]), ("response", template.response, ["{{response}}"]),
        ] {
            for placeholder in needed where !text.contains(placeholder) {
                throw EnvrunError(.invalidInput, "\(file): \(key) must contain \(placeholder)", field: key)
            }
        }
        return template
    }

    /// The template's markers (a list of strings), plus the fixed text that opens each line of the response
    /// block around its placeholders (`[The Begin of Response`): a template that forgets a marker still
    /// defuses its own block delimiters.
    static func markers(_ value: Any?, response: String, file: String) throws -> [String] {
        var out: [String] = []
        if let value {
            guard let list = value as? [String] else {
                throw EnvrunError(.invalidInput, "\(file): markers must be a list of strings", field: "markers")
            }
            out = list
        }
        for line in response.split(separator: "\n") where !line.contains("{{response}}") {
            let fixed = line.components(separatedBy: "{{").first!.trimmingCharacters(in: .whitespaces)
            if fixed.count >= 3 && !out.contains(fixed) { out.append(fixed) }
        }
        return out
    }

    /// The chat messages that ask the judge to score `responses` (in the order given) for `query`.
    public func messages(query: String, responses: [String]) -> [ChatMessage] {
        let blocks = responses.enumerated().map { i, r in
            Self.fill(response, ["index": String(i + 1), "response": defuse(r)])
        }
        let example = "\\boxed{" + (0..<responses.count).map { _ in "x" }.joined(separator: ", ") + "}"
        let user = Self.fill(
            self.user, ["query": defuse(query), "responses": blocks.joined(separator: "\n\n"), "example": example])
        var out: [ChatMessage] = []
        if !system.isEmpty { out.append(ChatMessage(role: "system", content: system)) }
        out.append(ChatMessage(role: "user", content: user))
        return out
    }

    /// The grammar and regex for `count` scores, or nil.
    public func grammar(count: Int) -> String? {
        grammar.map { Self.fill($0, ["scores": Array(repeating: "score", count: count).joined(separator: " \", \" ")]) }
    }

    public func regex(count: Int) -> String? {
        regex.map { Self.fill($0, ["scores": Array(repeating: "(10|[1-9])", count: count).joined(separator: ", ")]) }
    }

    /// Marker text inside inserted text loses its first character's meaning: `[The End…` becomes `(The End…`,
    /// a run of four or more `#` becomes `###`, other markers are quoted — so a response cannot close its block
    /// and pose as the next one. The text is first NFKC-normalised with format characters (zero-width
    /// spaces, joiners, soft hyphens, bidi controls) removed, and markers match whatever the case and spacing,
    /// so `［the  end of response 1］` or `[The\u{200B} End…` are defused too. One pass per marker suffices:
    /// no replacement can create a new match.
    func defuse(_ text: String) -> String {
        var t = Self.normalised(text)
        for marker in markers where !marker.isEmpty {
            if marker.hasPrefix("#") {
                t = t.replacingOccurrences(of: "#{4,}", with: "###", options: .regularExpression)
                continue
            }
            let words = marker.split(whereSeparator: \.isWhitespace).map { NSRegularExpression.escapedPattern(for: String($0)) }
            let pattern = words.joined(separator: "\\s+")
            guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { continue }
            let range = NSRange(t.startIndex..., in: t)
            let matches = regex.matches(in: t, range: range)
            guard !matches.isEmpty else { continue }
            if marker.hasPrefix("[") {
                // The match's opening bracket becomes "(": nothing else of the text changes.
                let ns = NSMutableString(string: t)
                for m in matches.reversed() { ns.replaceCharacters(in: NSRange(location: m.range.location, length: 1), with: "(") }
                t = ns as String
            } else {
                t = regex.stringByReplacingMatches(in: t, range: range, withTemplate: "'$0'")
            }
        }
        return t
    }

    static func normalised(_ text: String) -> String {
        let nfkc = text.precomposedStringWithCompatibilityMapping
        var scalars = String.UnicodeScalarView()
        for u in nfkc.unicodeScalars where u.properties.generalCategory != .format { scalars.append(u) }
        return String(scalars)
    }

    /// Replaces `{{key}}` in one pass over `template`: inserted text is never scanned again, so a query that
    /// contains `{{responses}}` stays literal text.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            let after = rest[open.upperBound...]
            if let close = after.range(of: "}}"), let value = values[String(after[..<close.lowerBound])] {
                out += value
                rest = after[close.upperBound...]
            } else {
                out += "{{"
                rest = after
            }
        }
        out += rest
        return out
    }
}
