import EnvrunCore
import Yams

/// Typed access to one YAML mapping with errors that name the file, the line and the dotted field,
/// e.g. field `reward.mode`, message `pack.yaml:12: must be one of fraction, all_or_nothing (got "half")`.
struct YAMLFields {
    let file: String
    let path: String
    let node: Node
    let mapping: Node.Mapping

    init(file: String, path: String, node: Node) throws {
        self.file = file
        self.path = path
        self.node = node
        guard let mapping = node.mapping else {
            throw YAMLFields.error(file: file, node: node, field: path.isEmpty ? "(document)" : path, "must be a mapping")
        }
        self.mapping = mapping
    }

    static func error(file: String, node: Node?, field: String, _ message: String) -> EnvrunError {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return EnvrunError(.invalidInput, "\(file)\(line): \(message)", field: field)
    }

    func fieldName(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> EnvrunError {
        Self.error(file: file, node: mapping[key] ?? node, field: fieldName(key), message)
    }

    /// Rejects keys outside `allowed` (catches typos such as `verifer:`).
    func rejectUnknownKeys(_ allowed: [String], context: String = "") throws {
        for (key, _) in mapping {
            guard let name = key.string else {
                throw Self.error(file: file, node: key, field: path, "keys must be strings")
            }
            if !allowed.contains(name) {
                let hint = context.isEmpty ? "" : " \(context)"
                throw Self.error(
                    file: file, node: key, field: fieldName(name),
                    "unknown field\(hint) (allowed: \(allowed.joined(separator: ", ")))")
            }
        }
    }

    func has(_ key: String) -> Bool { mapping[key] != nil }

    func scalar(_ key: String) throws -> Node.Scalar? {
        guard let value = mapping[key] else { return nil }
        if case .scalar(let s) = value { return s }
        throw error(key, "must be a single value, not a list or mapping")
    }

    func string(_ key: String) throws -> String? {
        guard let s = try scalar(key) else { return nil }
        return s.string
    }

    func requiredString(_ key: String) throws -> String {
        guard let value = try string(key) else { throw error(key, "is required") }
        if value.allSatisfy(\.isWhitespace) { throw error(key, "must not be empty") }
        return value
    }

    func int(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let s = try scalar(key) else { return nil }
        guard let value = Int(s.string) else { throw error(key, "must be an integer (got \"\(s.string)\")") }
        guard range.contains(value) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
        return value
    }

    func double(_ key: String, min: Double = 0) throws -> Double? {
        guard let s = try scalar(key) else { return nil }
        guard let value = Double(s.string), value.isFinite else {
            throw error(key, "must be a number (got \"\(s.string)\")")
        }
        guard value >= min else { throw error(key, "must be at least \(min) (got \(value))") }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let s = try scalar(key) else { return nil }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false (got \"\(s.string)\")")
        }
    }

    func oneOf<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let raw = try string(key) else { return nil }
        guard let value = T(rawValue: raw) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(key, "must be one of \(names) (got \"\(raw)\")")
        }
        return value
    }

    func stringList(_ key: String) throws -> [String]? {
        guard let value = mapping[key] else { return nil }
        switch value {
        case .scalar(let s):
            return s.string.split(separator: ",").map { String($0).trimmingCharacters() }
        case .sequence(let seq):
            return try seq.map { item in
                guard case .scalar(let s) = item else {
                    throw Self.error(file: file, node: item, field: fieldName(key), "items must be single values")
                }
                return s.string
            }
        default:
            throw error(key, "must be a list")
        }
    }

    func child(_ key: String) throws -> YAMLFields? {
        guard let value = mapping[key] else { return nil }
        return try YAMLFields(file: file, path: fieldName(key), node: value)
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
