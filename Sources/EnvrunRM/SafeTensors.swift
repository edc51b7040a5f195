import EnvrunCore
import Foundation

/// A read-only view of a `.safetensors` file: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}` and the raw tensor bytes.
/// Every malformed header becomes an `EnvrunError` naming the file; nothing is read out of bounds.
public struct SafeTensors: Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data section (after the header).
        public var begin: Int
        public var end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    static let maxHeaderBytes = 100 << 20
    static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    public init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw EnvrunError(.notFound, "cannot read safetensors file (\(error.localizedDescription))", field: path)
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws {
        func bad(_ message: String) -> EnvrunError { EnvrunError(.invalidInput, "safetensors: \(message)", field: path) }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = (n << 8) | UInt64(data[data.startIndex + i]) }
        guard n > 1, n <= UInt64(Self.maxHeaderBytes) else { throw bad("implausible header length \(n)") }
        guard UInt64(data.count) >= 8 + n else {
            throw bad("truncated: header says \(n) bytes but only \(data.count - 8) follow")
        }
        let headerData = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(n)))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerData) } catch {
            throw bad("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw bad("header is not a JSON object") }
        let dataLength = data.count - 8 - Int(n)
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                if let m = value as? [String: Any] { for (k, v) in m { metadata[k] = "\(v)" } }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shapeAny = entry["shape"] as? [Any], let offsAny = entry["data_offsets"] as? [Any],
                offsAny.count == 2
            else { throw bad("tensor \(name): missing dtype, shape or data_offsets") }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let offs = offsAny.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }), offs.count == 2 else {
                throw bad("tensor \(name): shape and offsets must be non-negative integers")
            }
            guard let size = Self.dtypeSizes[dtype] else { throw bad("tensor \(name): unknown dtype \(dtype)") }
            let info = TensorInfo(dtype: dtype, shape: shape, begin: offs[0], end: offs[1])
            guard info.begin >= 0, info.begin <= info.end, info.end <= dataLength else {
                throw bad("tensor \(name): data_offsets \(offs) outside the \(dataLength)-byte data section (truncated file?)")
            }
            guard info.end - info.begin == info.count * size else {
                throw bad("tensor \(name): \(info.end - info.begin) bytes for shape \(shape) of \(dtype)")
            }
            tensors[name] = info
        }
        self.path = path
        self.tensors = tensors
        self.metadata = metadata
        self.bytes = data
        self.dataStart = 8 + Int(n)
    }

    /// The tensor as Float32 values (F32 only), checked against an expected shape when given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let info = tensors[name] else {
            throw EnvrunError(.invalidInput, "safetensors: tensor \(name) not found", field: path)
        }
        guard info.dtype == "F32" else {
            throw EnvrunError(.invalidInput, "safetensors: tensor \(name) is \(info.dtype), expected F32", field: path)
        }
        if let expected, expected != info.shape {
            throw EnvrunError(
                .invalidInput, "safetensors: tensor \(name) has shape \(info.shape), expected \(expected)", field: path)
        }
        var out = [Float](repeating: 0, count: info.count)
        let start = bytes.startIndex + dataStart + info.begin
        out.withUnsafeMutableBytes { dst in
            _ = bytes.copyBytes(to: dst, from: start..<(start + info.end - info.begin))
        }
        // safetensors is little-endian, as is every platform Swift runs on here.
        return out
    }
}
