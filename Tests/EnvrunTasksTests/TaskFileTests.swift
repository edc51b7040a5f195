import EnvrunCore
import Foundation
import Testing

@testable import EnvrunTasks

@Suite("task files")
struct TaskFileTests {
    let tasks = [
        TaskSpec(id: "a", prompt: "1+1", answer: "2", metadata: ["level": "1"]),
        TaskSpec(id: "b", prompt: "é ü 中文 \"quoted\"\nnew line", tests: "assert f() == 1", entryPoint: "f",
                 ioCases: [IOCase(input: "1\n", output: "2\n")]),
    ]

    @Test(arguments: ["tasks.jsonl", "tasks.jsonl.gz"])
    func roundTrip(file: String) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.url.appendingPathComponent(file)
        try TaskFile.write(tasks, to: url)
        let bytes = try Data(contentsOf: url)
        #expect(bytes.starts(with: [0x1f, 0x8b]) == file.hasSuffix(".gz"))
        #expect(try TaskFile.read(url) == tasks)
    }

    @Test func gzipOutputIsReproducible() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let a = dir.url.appendingPathComponent("a.jsonl.gz")
        let b = dir.url.appendingPathComponent("b.jsonl.gz")
        try TaskFile.write(tasks, to: a)
        try TaskFile.write(tasks, to: b)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
    }

    /// A file gzipped by another tool (Python's gzip, the shipped packs) reads the same; so do
    /// concatenated gzip members.
    @Test func readsConcatenatedGzipMembers() throws {
        let one = try Gzip.compress(Data("{\"id\":\"a\",\"prompt\":\"p\"}\n".utf8))
        let two = try Gzip.compress(Data("{\"id\":\"b\",\"prompt\":\"q\"}\n".utf8))
        let out = try Gzip.decompress(one + two, name: "x.gz")
        #expect(try TaskFile.parse(out, name: "x").map(\.id) == ["a", "b"])
    }

    @Test func truncatedAndCorruptGzipAreErrors() throws {
        let good = try Gzip.compress(Data(String(repeating: "{\"id\":\"a\",\"prompt\":\"p\"}\n", count: 100).utf8))
        #expect { try Gzip.decompress(good.prefix(good.count / 2), name: "t.gz") } throws: {
            ($0 as? EnvrunError)?.message.contains("truncated") == true
        }
        var corrupt = good
        corrupt[12] ^= 0xff
        corrupt[13] ^= 0xff
        #expect(throws: EnvrunError.self) { try Gzip.decompress(corrupt, name: "c.gz") }
    }

    @Test func duplicateIdsNameBothLines() {
        let data = Data("{\"id\":\"x\",\"prompt\":\"p\"}\n\n{\"id\":\"y\",\"prompt\":\"p\"}\n{\"id\":\"x\",\"prompt\":\"q\"}\n".utf8)
        #expect { try TaskFile.parse(data, name: "t.jsonl") } throws: { error in
            let e = error as? EnvrunError
            return e?.field == "id" && e?.message == "t.jsonl:4: duplicate id \"x\" (first on line 1)"
        }
    }

    @Test(arguments: [
        ("{\"id\":\"x\",\"prompt\":\"p\"}\n{\"id\":\"y\"}", "t.jsonl:2: missing field \"prompt\""),
        ("{\"id\":\"x\",\"prompt\":\"p\"}\n{not json", "t.jsonl:2: not valid JSON"),
        ("{\"id\":5,\"prompt\":\"p\"}", "t.jsonl:1: id: expected String"),
        ("{\"id\":\"\",\"prompt\":\"p\"}", "t.jsonl:1: id must not be empty"),
        ("{\"id\":\"a\",\"prompt\":\"p\",\"io_cases\":[{\"input\":\"1\"}]}", "t.jsonl:1: io_cases.[0]: missing field \"output\""),
    ])
    func badLinesNameTheLine(text: String, message: String) {
        #expect { try TaskFile.parse(Data(text.utf8), name: "t.jsonl") } throws: { error in
            (error as? EnvrunError)?.message == message
        }
    }

    @Test func missingFileIsAnIOError() {
        #expect { try TaskFile.read(URL(fileURLWithPath: "/nonexistent/tasks.jsonl")) } throws: {
            ($0 as? EnvrunError)?.code == .io
        }
    }
}
