/// One pass over a JSON body's bytes, before any decoding: how deep it nests and how many elements its
/// largest top-level array holds (`{"items": [ … ]}`), so a body of 100,000 items or 100,000 nested
/// brackets is refused for what it is without building a single value. Malformed JSON is not judged
/// here: the decoder that runs next names the error.
struct JSONScan: Equatable {
    var maxDepth = 0
    /// The key and element count of the largest array that is a value of the top-level object.
    var largestArrayKey: String?
    var largestArrayCount = 0
    /// Commas outside strings: about the number of values, anywhere in the document.
    var commas = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        var depth = 0
        var inString = false, escaped = false
        var lastString: String? = nil, currentKey: String? = nil
        var arrayCount = 0, elementOpen = false, inTopArray = false
        var buffer: [UInt8] = []
        for b in bytes {
            if inString {
                if depth == 1 { buffer.append(b) }
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 1 {
                        buffer.removeLast()
                        lastString = String(decoding: buffer, as: UTF8.self)
                    }
                }
                continue
            }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D:
                continue
            default:
                break
            }
            if inTopArray && depth == 2 && !elementOpen && b != UInt8(ascii: "]") && b != UInt8(ascii: ",") {
                arrayCount += 1
                elementOpen = true
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                buffer.removeAll(keepingCapacity: true)
            case UInt8(ascii: ":") where depth == 1:
                currentKey = lastString
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                maxDepth = max(maxDepth, depth)
                if depth == 2 && b == UInt8(ascii: "[") {
                    inTopArray = true
                    arrayCount = 0
                    elementOpen = false
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 2 && inTopArray {
                    if arrayCount > largestArrayCount {
                        largestArrayCount = arrayCount
                        largestArrayKey = currentKey
                    }
                    inTopArray = false
                }
                depth -= 1
            case UInt8(ascii: ","):
                commas += 1
                if depth == 2 { elementOpen = false }
            default:
                break
            }
        }
    }
}
