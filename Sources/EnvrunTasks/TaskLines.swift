import EnvrunCore
import Foundation

/// Splits a byte stream into lines under `PackLimits`: a line longer than `lineBytes` is refused as soon as
/// that many bytes of it have arrived (never held whole), and the `lines + 1`-th line is refused (blank lines
/// count, so a newline bomb stops there). A line that lies inside one chunk is handed on without a copy.
struct LineSplitter {
    let name: String
    let limits: PackLimits
    /// Lines handed on so far; the line being read is `count + 1`.
    private(set) var count = 0
    private var pending: [UInt8] = []

    init(name: String, limits: PackLimits) {
        self.name = name
        self.limits = limits
    }

    /// `line` gets each complete line (without its `\n`) and its 1-based number.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ line: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            guard let hit = memchr(base + start, 0x0a, chunk.count - start) else {
                try hold(UnsafeRawBufferPointer(rebasing: chunk[start...]))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(hit))
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<end])
            if pending.isEmpty {
                try emit(piece, line)
            } else {
                try hold(piece)
                let whole = pending
                pending.removeAll(keepingCapacity: true)
                try whole.withUnsafeBytes { try emit($0, line) }
            }
            start = end + 1
        }
    }

    /// The input is over: a last line without `\n` is still a line.
    mutating func finish(_ line: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        guard !pending.isEmpty else { return }
        let whole = pending
        pending = []
        try whole.withUnsafeBytes { try emit($0, line) }
    }

    private mutating func hold(_ bytes: UnsafeRawBufferPointer) throws {
        try checkLength(pending.count + bytes.count)
        pending.append(contentsOf: bytes)
    }

    private mutating func emit(_ bytes: UnsafeRawBufferPointer, _ line: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        try checkLength(bytes.count)
        count += 1
        guard count <= limits.lines else {
            throw EnvrunError(
                .invalidInput, "\(name): more than the limit of \(limits.lines) lines (blank lines count); refused",
                field: "tasks")
        }
        try line(bytes, count)
    }

    private func checkLength(_ length: Int) throws {
        guard length <= limits.lineBytes else {
            throw EnvrunError(
                .invalidInput,
                "\(name):\(count + 1): line longer than the limit of \(PackLimits.bytes(limits.lineBytes)); refused",
                field: "tasks")
        }
    }
}

/// Decodes task lines: one JSON `TaskSpec` per non-blank line, ids unique and non-empty, prompts non-empty.
struct TaskLineParser {
    let name: String
    private(set) var tasks: [TaskSpec] = []
    private var seen: [String: Int] = [:]
    private let decoder = JSONDecoder()

    init(name: String) { self.name = name }

    /// Only spaces, tabs and `\r`. A task line fails at its first byte; a long run of spaces is checked
    /// eight bytes at a time (a blank-line filler is one way to pad a bomb).
    static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0d || b == 0x09 }
        var i = 0
        let spaces = UInt64(0x2020_2020_2020_2020)
        while i + 8 <= line.count {
            if line.loadUnaligned(fromByteOffset: i, as: UInt64.self) != spaces {
                for j in i..<(i + 8) where !blank(line[j]) { return false }
            }
            i += 8
        }
        while i < line.count {
            if !blank(line[i]) { return false }
            i += 1
        }
        return true
    }

    mutating func parse(
        _ line: UnsafeRawBufferPointer, line number: Int, check: (TaskSpec) -> TaskFile.Problem? = { _ in nil }
    ) throws {
        if Self.isBlank(line) { return }
        let task: TaskSpec
        do {
            task = try decoder.decode(TaskSpec.self, from: Data(line))
        } catch let error as DecodingError {
            throw EnvrunError(.invalidInput, "\(name):\(number): \(TaskFile.describe(error))", field: "tasks")
        }
        if task.id.isEmpty {
            throw EnvrunError(.invalidInput, "\(name):\(number): id must not be empty", field: "id")
        }
        if task.prompt.isEmpty {
            throw EnvrunError(.invalidInput, "\(name):\(number): task \(task.id): prompt must not be empty", field: "prompt")
        }
        if let first = seen[task.id] {
            throw EnvrunError(
                .invalidInput, "\(name):\(number): duplicate id \"\(task.id)\" (first on line \(first))", field: "id")
        }
        if let problem = check(task) {
            throw EnvrunError(.invalidInput, "\(name):\(number): task \(task.id): \(problem.message)", field: problem.field)
        }
        seen[task.id] = number
        tasks.append(task)
    }
}
