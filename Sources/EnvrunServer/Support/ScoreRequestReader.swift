import EnvrunCore

/// A fast path for the common `/v1/score` body: `{"items": [{"pack", "task_id", "response"}, …]}` with
/// string values only. Anything else (an inline `task`, another key, a wrong type, a duplicate key,
/// bad JSON or UTF-8) returns nil and the caller falls back to `JSONDecoder`, which also produces the
/// precise error naming the field. The equivalence test checks both paths agree.
struct ScoreRequestReader {
    enum Outcome {
        case request(ScoreRequest)
        /// More than `maxItems` items: reading stopped there.
        case tooManyItems
        /// Not the common shape (or not valid): decode it the slow way.
        case notFastShape
    }

    private let bytes: [UInt8]
    private var i = 0
    private let maxItems: Int
    private var tooMany = false

    static func read(_ bytes: [UInt8], maxItems: Int) -> Outcome {
        var reader = ScoreRequestReader(bytes: bytes, maxItems: maxItems)
        if let request = reader.request() { return .request(request) }
        return reader.tooMany ? .tooManyItems : .notFastShape
    }

    /// The common shape, or nil (tests compare it with JSONDecoder).
    static func read(_ bytes: [UInt8]) -> ScoreRequest? {
        if case .request(let r) = read(bytes, maxItems: .max) { return r }
        return nil
    }

    private init(bytes: [UInt8], maxItems: Int) {
        self.bytes = bytes
        self.maxItems = maxItems
    }

    private mutating func request() -> ScoreRequest? {
        guard consume(UInt8(ascii: "{")), let key = string(), key == "items", consume(UInt8(ascii: ":")),
              consume(UInt8(ascii: "["))
        else { return nil }
        var items: [ScoreItem] = []
        if !consume(UInt8(ascii: "]")) {
            repeat {
                guard let item = item() else { return nil }
                if items.count == maxItems {
                    tooMany = true
                    return nil
                }
                items.append(item)
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "]")) else { return nil }
        }
        guard consume(UInt8(ascii: "}")) else { return nil }
        skipSpace()
        return i == bytes.count ? ScoreRequest(items: items) : nil
    }

    private mutating func item() -> ScoreItem? {
        guard consume(UInt8(ascii: "{")) else { return nil }
        var pack: String?, taskID: String?, response: String?
        repeat {
            guard let key = string(), consume(UInt8(ascii: ":")), let value = string() else { return nil }
            switch key {
            case "pack" where pack == nil: pack = value
            case "task_id" where taskID == nil: taskID = value
            case "response" where response == nil: response = value
            default: return nil
            }
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "}")), let pack, let response else { return nil }
        return ScoreItem(pack: pack, taskID: taskID, response: response)
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    /// A JSON string with every escape decoded; nil on anything invalid.
    private mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = i
        // Fast scan: no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                defer { i += 1 }
                return String(validating: bytes[start..<i], as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { return nil }
            i += 1
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            switch b {
            case UInt8(ascii: "\""):
                return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                        else { return nil }
                        i += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            default:
                if b < 0x20 { return nil }
                out.append(b)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            i += 1
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
