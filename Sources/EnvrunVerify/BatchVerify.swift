import Foundation

/// JSON Lines batch mode: one result line per input line, in order; a malformed line gets an error line.
public enum BatchVerify {
    struct Input: Decodable {
        var gold: String
        var pred: String
    }

    /// The result line for one input line (without the trailing newline).
    public static func resultLine(for line: Substring, lineNumber: Int, verifier: MathVerifier) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let result: VerifyResult
        var id: String? = nil
        if let data = line.data(using: .utf8), let input = try? JSONDecoder().decode(Input.self, from: data) {
            result = verifier.verify(gold: input.gold, pred: input.pred)
            if let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let v = obj["id"] {
                id = (try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) }
            }
        } else {
            result = VerifyResult(equivalent: false, status: .error,
                                  message: "line \(lineNumber): expected a JSON object with string fields \"gold\" and \"pred\"")
        }
        var text = (try? encoder.encode(result)).map { String(decoding: $0, as: UTF8.self) }
            ?? #"{"equivalent":false,"status":"error","message":"encoding failed"}"#
        if let id { text = "{\"id\":\(id)," + text.dropFirst() }
        return text
    }
}
