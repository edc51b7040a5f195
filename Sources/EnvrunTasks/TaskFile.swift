import CZlib
import EnvrunCore
import Foundation

/// Reads and writes task files: one JSON `TaskSpec` per line, plain (`.jsonl`) or gzipped (`.jsonl.gz`).
public enum TaskFile {
    /// Reads every task. Errors name the file and line; duplicate and empty ids are errors.
    public static func read(_ url: URL) throws -> [TaskSpec] {
        let name = url.lastPathComponent
        var data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw EnvrunError(.io, "cannot read \(url.path): \(error.localizedDescription)", field: "tasks")
        }
        if name.hasSuffix(".gz") || data.starts(with: [0x1f, 0x8b]) {
            data = try Gzip.decompress(data, name: name)
        }
        return try parse(data, name: name)
    }

    public static func parse(_ data: Data, name: String) throws -> [TaskSpec] {
        let decoder = JSONDecoder()
        var tasks: [TaskSpec] = []
        var seen: [String: Int] = [:]
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) { continue }
            let task: TaskSpec
            do {
                task = try decoder.decode(TaskSpec.self, from: Data(line))
            } catch let error as DecodingError {
                throw EnvrunError(.invalidInput, "\(name):\(lineNumber): \(describe(error))", field: "tasks")
            }
            if task.id.isEmpty {
                throw EnvrunError(.invalidInput, "\(name):\(lineNumber): id must not be empty", field: "id")
            }
            if task.prompt.isEmpty {
                throw EnvrunError(.invalidInput, "\(name):\(lineNumber): task \(task.id): prompt must not be empty", field: "prompt")
            }
            if let first = seen[task.id] {
                throw EnvrunError(
                    .invalidInput, "\(name):\(lineNumber): duplicate id \"\(task.id)\" (first on line \(first))",
                    field: "id")
            }
            seen[task.id] = lineNumber
            tasks.append(task)
        }
        return tasks
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
