import CZlib
import EnvrunCore
import Foundation

/// gzip (and zlib) decompression through the system zlib, for `.jsonl.gz` task files.
enum Gzip {
    static func decompress(_ data: Data, name: String) throws -> Data {
        if data.isEmpty { return data }
        var stream = z_stream()
        // 15 + 32: a window of 2^15 with automatic gzip/zlib header detection.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw EnvrunError(.internal, "zlib inflateInit failed", field: name)
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress!)
            stream.avail_in = uInt(input.count)
            while true {
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
                switch status {
                case Z_STREAM_END:
                    // Concatenated gzip members are legal: continue with the next one.
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw EnvrunError(.invalidInput, "corrupt gzip data", field: name)
                    }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw EnvrunError(.invalidInput, "truncated gzip data", field: name)
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw EnvrunError(.invalidInput, "corrupt gzip data: \(message)", field: name)
                }
            }
        }
        return output
    }
}
