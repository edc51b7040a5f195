import CZlib
import EnvrunCore
import Foundation

/// Reads and writes task files: one JSON `TaskSpec` per line, plain (`.jsonl`) or gzipped (`.jsonl.gz`).
/// Reading streams (file → inflate → lines) under `PackLimits`, so the file is never held whole.
public enum TaskFile {
    /// What a caller's per-task check found wrong (the reader adds the file and line).
    public typealias Problem = (field: String, message: String)

    /// Reads every task. Errors name the file (`name`, default the file's name) and line; duplicate and
    /// empty ids are errors, and so is passing any cap of `limits`. `check` sees each task as it is read.
    public static func read(
        _ url: URL, name: String? = nil, limits: PackLimits = .default,
        check: (TaskSpec) -> Problem? = { _ in nil }
    ) throws -> [TaskSpec] {
        let name = name ?? url.lastPathComponent
        let path = PackFiles.realPath(url.path) ?? url.path
        var lines = LineSplitter(name: name, limits: limits)
        var parser = TaskLineParser(name: name)
        var inflater: GzipInflater?
        var decided = false
        try PackFiles.forEachChunk(path, display: name, maxBytes: limits.taskFileBytes, field: "tasks") { chunk in
            if !decided {
                decided = true
                if name.hasSuffix(".gz") || (chunk.count >= 2 && chunk[0] == 0x1f && chunk[1] == 0x8b) {
                    inflater = try GzipInflater(name: name, limit: limits.taskFileBytes)
                }
            }
            if let inflater {
                try inflater.feed(chunk) { out in try lines.feed(out) { try parser.parse($0, line: $1, check: check) } }
            } else {
                try lines.feed(chunk) { try parser.parse($0, line: $1, check: check) }
            }
        }
        try inflater?.finish()
        try lines.finish { try parser.parse($0, line: $1, check: check) }
        return parser.tasks
    }

    public static func parse(_ data: Data, name: String, limits: PackLimits = .default) throws -> [TaskSpec] {
        var lines = LineSplitter(name: name, limits: limits)
        var parser = TaskLineParser(name: name)
        try data.withUnsafeBytes { bytes in try lines.feed(bytes) { try parser.parse($0, line: $1) } }
        try lines.finish { try parser.parse($0, line: $1) }
        return parser.tasks
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : "\(p): "
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context))missing field \"\(key.stringValue)\""
        case .typeMismatch(let type, let context):
            return "\(path(context))expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context))expected \(type), found null"
        case .dataCorrupted(let context):
            return "\(path(context))not valid JSON"
        @unknown default:
            return "\(error)"
        }
    }

    /// Writes tasks as JSONL (sorted keys, so output is reproducible), gzipped when the name ends in `.gz`.
    public static func write(_ tasks: [TaskSpec], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for task in tasks {
            data.append(try encoder.encode(task))
            data.append(UInt8(ascii: "\n"))
        }
        if url.lastPathComponent.hasSuffix(".gz") { data = try Gzip.compress(data) }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw EnvrunError(.io, "cannot write \(url.path): \(error.localizedDescription)", field: "tasks")
        }
    }
}

extension Gzip {
    /// gzip with zlib's default header (no name, mtime 0), so the same input gives the same bytes.
    static func compress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw EnvrunError(.internal, "zlib deflateInit failed") }
        defer { deflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var input = [UInt8](data)
        input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            var status = Z_OK
            while status != Z_STREAM_END {
                status = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return deflate(&stream, Z_FINISH)
                }
                output.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
                if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR { break }
            }
        }
        return output
    }
}
