import CZlib
import EnvrunCore
import Foundation

/// gzip (and zlib) decompression through the system zlib, for `.jsonl.gz` task files.
enum Gzip {
    /// Decompresses a whole buffer; more than `limit` bytes of output is an error naming `name`.
    static func decompress(_ data: Data, name: String, limit: Int = PackLimits.default.taskFileBytes) throws -> Data {
        var output = Data()
        let inflater = try GzipInflater(name: name, limit: limit)
        try data.withUnsafeBytes { input in
            try inflater.feed(input) { output.append(contentsOf: $0) }
        }
        try inflater.finish()
        return output
    }
}

/// Streaming gzip decompression: compressed bytes go in by the chunk, decompressed bytes come out by the
/// 64 KiB chunk, and the output is counted, so a bomb is refused once it passes `limit` (the most held at
/// once is one output chunk; what the sink keeps is its own business). Concatenated members are legal.
final class GzipInflater {
    let name: String
    let limit: Int
    private(set) var produced = 0
    private let stream: UnsafeMutablePointer<z_stream>
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    /// The last member ended and no byte of a next one has been seen.
    private var atMemberEnd = false
    private var sawInput = false

    init(name: String, limit: Int) throws {
        self.name = name
        self.limit = limit
        // zlib's state points back at the z_stream, so it lives at a fixed address for the inflater's life.
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 32: a window of 2^15 with automatic gzip/zlib header detection.
        guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw EnvrunError(.internal, "zlib inflateInit failed", field: name)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Decompresses `input`, handing each decompressed chunk to `sink`.
    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        sawInput = true
        if atMemberEnd {
            try reset()
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        let chunk = buffer.count
        while true {
            let (status, count): (Int32, Int) = buffer.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = uInt(chunk)
                let status = inflate(stream, Z_NO_FLUSH)
                return (status, chunk - Int(stream.pointee.avail_out))
            }
            if count > 0 {
                produced += count
                if produced > limit {
                    throw EnvrunError(
                        .invalidInput,
                        "\(name): decompresses to more than the limit of \(PackLimits.bytes(limit)); refused (a gzip bomb?)",
                        field: "tasks")
                }
                try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
            let inputLeft = stream.pointee.avail_in
            switch status {
            case Z_STREAM_END:
                atMemberEnd = true
                if inputLeft == 0 { return }
                try reset()
            case Z_OK:
                // All input taken and room left in the output: zlib wants more input.
                if inputLeft == 0 && count < chunk { return }
            case Z_BUF_ERROR where inputLeft == 0:
                return
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw EnvrunError(.invalidInput, "\(name): corrupt gzip data: \(message)", field: "tasks")
            }
        }
    }

    /// The input is over: a member that did not end is a truncated file.
    func finish() throws {
        if sawInput && !atMemberEnd {
            throw EnvrunError(.invalidInput, "\(name): truncated gzip data", field: "tasks")
        }
    }

    private func reset() throws {
        atMemberEnd = false
        guard inflateReset(stream) == Z_OK else {
            throw EnvrunError(.invalidInput, "\(name): corrupt gzip data", field: "tasks")
        }
    }
}
