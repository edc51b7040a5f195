import EnvrunCore
import Foundation

extension SafeTensors {
    /// Serialises Float32 tensors (`name -> (shape, values)`) in the safetensors format, names sorted.
    public static func encode(_ tensors: [String: (shape: [Int], values: [Float])], metadata: [String: String] = [:])
        -> Data
    {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            precondition(t.shape.reduce(1, *) == t.values.count, "shape of \(name)")
            let begin = body.count
            t.values.withUnsafeBytes { body.append(contentsOf: $0) }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [begin, body.count]]
        }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }  // align the data section, as the reference writer does
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }
}
