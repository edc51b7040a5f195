import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

@Suite struct SafeTensorsTests {
    /// Builds a safetensors file in memory from a header object and raw data.
    static func file(header: String, data: [UInt8]) -> Data {
        let h = Array(header.utf8)
        var n = UInt64(h.count)
        var out = Data()
        for _ in 0..<8 {
            out.append(UInt8(n & 0xff))
            n >>= 8
        }
        out.append(contentsOf: h)
        out.append(contentsOf: data)
        return out
    }

    static func floatBytes(_ xs: [Float]) -> [UInt8] {
        xs.flatMap { x -> [UInt8] in
            let b = x.bitPattern
            return [UInt8(b & 0xff), UInt8((b >> 8) & 0xff), UInt8((b >> 16) & 0xff), UInt8(b >> 24)]
        }
    }

    @Test func readsAValidFile() throws {
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}"#
        let st = try SafeTensors(data: Self.file(header: header, data: Self.floatBytes([1, -2, 3.5, 4, 0.25])))
        #expect(try st.floats("w", shape: [2, 2]) == [1, -2, 3.5, 4])
        #expect(try st.floats("b") == [0.25])
        #expect(st.metadata["format"] == "pt")
    }

    @Test(arguments: [
        ("short", Data([1, 2, 3]), "shorter than the 8-byte header length"),
        ("huge header length", Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]) + Data(repeating: 0x20, count: 16), "implausible header length"),
        ("truncated header", SafeTensorsTests.file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: []).prefix(30), "truncated"),
        ("not json", SafeTensorsTests.file(header: "{not json", data: []), "not valid JSON"),
        ("not an object", SafeTensorsTests.file(header: "[1,2]", data: []), "not a JSON object"),
        ("truncated data", SafeTensorsTests.file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0]), "outside the 4-byte data section"),
        ("size mismatch", SafeTensorsTests.file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "8 bytes for shape [3]"),
        ("unknown dtype", SafeTensorsTests.file(header: #"{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "unknown dtype"),
        ("missing field", SafeTensorsTests.file(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]), "missing dtype, shape or data_offsets"),
    ])
    func rejectsCorruptFiles(name: String, data: Data, message: String) {
        do {
            _ = try SafeTensors(data: data, path: "bad.safetensors")
            Issue.record("\(name): expected an error")
        } catch let error as EnvrunError {
            #expect(error.code == .invalidInput, "\(name)")
            #expect(error.field == "bad.safetensors")
            #expect(error.message.contains(message), "\(name): \(error.message)")
        } catch {
            Issue.record("\(name): unexpected error \(error)")
        }
    }

    @Test func wrongShapeOrDtypeOrNameIsAnError() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"#
        let st = try SafeTensors(data: Self.file(header: header, data: Array(repeating: 0, count: 16)))
        #expect(throws: EnvrunError.self) { try st.floats("w", shape: [3]) }
        #expect(throws: EnvrunError.self) { try st.floats("i") }
        #expect(throws: EnvrunError.self) { try st.floats("missing") }
    }

    @Test func truncatedRealWeightsGiveAClearError() throws {
        guard TestSupport.haveModel else { return }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: TestSupport.files.weights))
        let head = try handle.read(upToCount: 1 << 20) ?? Data()
        try handle.close()
        do {
            _ = try SafeTensors(data: head, path: "cut.safetensors")
            Issue.record("expected an error for a 1 MiB prefix of the weights")
        } catch let error as EnvrunError {
            #expect(error.message.contains("truncated file"), "\(error.message)")
        }
    }

    @Test func missingFolderNamesTheSetupScript() {
        let files = EncoderFiles(directory: "/nonexistent/minilm")
        do {
            try files.check()
            Issue.record("expected notFound")
        } catch let error as EnvrunError {
            #expect(error.code == .notFound)
            #expect(error.message.contains("scripts/setup.sh"))
        } catch { Issue.record("\(error)") }
    }
}
