import EnvrunCore
import NIOCore

/// A direct JSON writer for the `/v1/score` answer, the largest and most frequent body the server
/// writes. Same bytes a JSONDecoder reads back as `ScoreResponse` (the round-trip test checks it), at a
/// fraction of JSONEncoder's cost. Non-finite numbers, which JSON cannot carry, are written as null.
enum RewardJSON {
    static func encode(_ results: [RewardResult]) -> ByteBuffer {
        var out: [UInt8] = []
        out.reserveCapacity(64 + results.count * 160)
        out.append(contentsOf: #"{"results":["#.utf8)
        for (i, r) in results.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            write(r, into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return ByteBuffer(bytes: out)
    }

    static func write(_ r: RewardResult, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"reward":"#.utf8)
        number(r.reward, into: &out)
        out.append(contentsOf: #","status":""#.utf8)
        out.append(contentsOf: r.status.rawValue.utf8)
        out.append(contentsOf: #"","source":""#.utf8)
        out.append(contentsOf: r.source.rawValue.utf8)
        out.append(contentsOf: #"","components":{"#.utf8)
        var first = true
        for (key, value) in r.components.sorted(by: { $0.key < $1.key }) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            string(key, into: &out)
            out.append(UInt8(ascii: ":"))
            number(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        if let steps = r.stepRewards {
            out.append(contentsOf: #","step_rewards":["#.utf8)
            for (i, v) in steps.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                number(v, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #","details":{"#.utf8)
        first = true
        for (key, value) in r.details.sorted(by: { $0.key < $1.key }) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            string(key, into: &out)
            out.append(UInt8(ascii: ":"))
            string(value, into: &out)
        }
        out.append(contentsOf: "}}".utf8)
    }

    static func number(_ value: Double, into out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            out.append(contentsOf: String(Int64(value)).utf8)
        } else {
            out.append(contentsOf: value.description.utf8)  // shortest round-trip form, valid JSON
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
