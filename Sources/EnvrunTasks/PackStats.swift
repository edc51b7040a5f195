import EnvrunCore

/// Summary figures of a pack for `envrun pack stats`.
public struct PackStats: Sendable, Equatable {
    public struct Lengths: Sendable, Equatable {
        public var min = 0, median = 0, p90 = 0, max = 0
    }

    public var pack: String
    public var tasks: Int
    /// Rendered prompt length in characters.
    public var promptChars: Lengths
    /// How many tasks carry each field (answer, tests, io_cases, reference, ...).
    public var fields: [String: Int]
    /// For metadata keys with few distinct values (level, split, depth...): value -> count.
    public var metadata: [String: [String: Int]]

    public init(_ pack: TaskPack, maxDistinct: Int = 12) {
        self.pack = pack.name
        tasks = pack.tasks.count
        let lengths = pack.tasks.map { pack.manifest.render(prompt: $0.prompt).count }.sorted()
        promptChars = Lengths()
        if !lengths.isEmpty {
            promptChars = Lengths(
                min: lengths[0], median: lengths[lengths.count / 2], p90: lengths[(lengths.count * 9) / 10],
                max: lengths[lengths.count - 1])
        }
        var fields: [String: Int] = [:]
        var values: [String: [String: Int]] = [:]
        for t in pack.tasks {
            for (name, present) in [
                ("answer", t.answer != nil), ("tests", t.tests != nil), ("entry_point", t.entryPoint != nil),
                ("test_setup", t.testSetup != nil), ("io_cases", t.ioCases != nil), ("reference", t.reference != nil),
            ] where present {
                fields[name, default: 0] += 1
            }
            for (k, v) in t.metadata ?? [:] where v.count <= 40 {
                values[k, default: [:]][v, default: 0] += 1
            }
        }
        self.fields = fields
        metadata = values.filter { $0.value.count <= maxDistinct && $0.value.values.reduce(0, +) == pack.tasks.count }
    }

    public func render() -> String {
        var lines = ["pack \(pack): \(tasks) tasks"]
        lines.append(
            "  prompt length (chars, rendered): min \(promptChars.min), median \(promptChars.median), "
                + "p90 \(promptChars.p90), max \(promptChars.max)")
        if !fields.isEmpty {
            lines.append("  fields: " + fields.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        for (key, counts) in metadata.sorted(by: { $0.key < $1.key }) {
            let parts = counts.sorted { a, b in
                if let x = Int(a.key), let y = Int(b.key) { return x < y }
                return a.key < b.key
            }.map { "\($0.key) \($0.value)" }
            lines.append("  \(key): " + parts.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
