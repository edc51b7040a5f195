import EnvrunCore
@testable import EnvrunServer
import Foundation
import Testing

@Suite("ScoreRequestReader: the fast path agrees with JSONDecoder")
struct ScoreRequestReaderTests {
    static let accepted: [String] = [
        #"{"items":[{"pack":"gsm8k","task_id":"17","response":"The answer is \\boxed{18}."}]}"#,
        #" { "items" : [ { "response" : "x" , "pack" : "p" } , {"pack":"q","task_id":"","response":""} ] } "#,
        #"{"items":[]}"#,
        #"{"items":[{"pack":"p","task_id":"1","response":"quote \" slash \/ back \\ \b\f\n\r\t é \u00e9 \u6f22 \ud83d\ude42"}]}"#,
        "{\"items\":[{\"pack\":\"p\",\"task_id\":\"1\",\"response\":\"raw UTF-8: 漢字 🙂\"}]}",
    ]

    static let fallback: [String] = [
        #"{"items":[{"pack":"p","task":{"id":"x","prompt":"q","answer":"1"},"response":"1"}]}"#,  // inline task
        #"{"items":[{"pack":"p","task_id":7,"response":"1"}]}"#,  // wrong type
        #"{"items":[{"pack":"p","task_id":"1"}]}"#,  // missing response
        #"{"items":[{"pack":"p","task_id":"1","response":"1","extra":1}]}"#,  // unknown key
        #"{"items":[{"pack":"p","pack":"q","task_id":"1","response":"1"}]}"#,  // duplicate key
        #"{"items":[{"pack":"p","task_id":"1","response":"bad \x escape"}]}"#,
        #"{"items":[{"pack":"p","task_id":"1","response":"lone \ud83d surrogate"}]}"#,
        "{\"items\":[{\"pack\":\"p\",\"task_id\":\"1\",\"response\":\"raw\nnewline\"}]}",
        #"{"items":[{"pack":"p","task_id":"1","response":"1"}]} trailing"#,
        #"{"items":[{"pack":"p","task_id":"1","response":"1"},]}"#,
        #"{"items":[{"pack":"p","task_id":"1","response":"1"}]"#,
        #"{"other":[]}"#,
        #"[]"#,
        "",
    ]

    @Test("accepted bodies decode to exactly what JSONDecoder gives", arguments: accepted)
    func agrees(_ body: String) throws {
        let fast = try #require(ScoreRequestReader.read(Array(body.utf8)))
        let slow = try JSONDecoder().decode(ScoreRequest.self, from: Data(body.utf8))
        #expect(fast == slow)
    }

    @Test("anything outside the common shape falls back (nil)", arguments: fallback)
    func fallsBack(_ body: String) {
        #expect(ScoreRequestReader.read(Array(body.utf8)) == nil)
    }

    @Test("invalid UTF-8 falls back")
    func invalidUTF8() {
        var bytes = Array(#"{"items":[{"pack":"p","task_id":"1","response":""#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#""}]}"#.utf8)
        #expect(ScoreRequestReader.read(bytes) == nil)
    }

    @Test("a generated batch round-trips through JSONEncoder and the reader")
    func generated() throws {
        let items = (0..<200).map { i in
            ScoreItem(pack: "pack-\(i % 7)", taskID: i % 5 == 0 ? nil : "t/\(i)",
                      response: String(repeating: "é\"\\\n\u{1}🙂 ", count: i % 4) + "#### \(i)")
        }.filter { $0.taskID != nil }
        let data = try JSONEncoder().encode(ScoreRequest(items: items))
        #expect(ScoreRequestReader.read(Array(data)) == ScoreRequest(items: items))
    }
}
