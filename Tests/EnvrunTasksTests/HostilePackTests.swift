import EnvrunCore
import Foundation
import Testing

@testable import EnvrunTasks

/// Hostile pack files (issue 19): each is refused at load with an error naming the file and the cap, and
/// quickly, instead of exhausting memory or making every request fail later.
@Suite("hostile pack files")
struct HostilePackTests {
    static let goodLine = #"{"id":"a","prompt":"p","answer":"1"}"#

    /// A pack folder `g` with the given task-file bytes (and a manifest naming that file).
    static func pack(
        _ dir: TempDir, file: String = "tasks.jsonl", bytes: Data, template: String = "Q: {{prompt}}",
        reward: String = "  verifier: math", name: String = "g"
    ) throws -> URL {
        let yaml = manifest(name: name, reward: reward)
            .replacingOccurrences(of: "tasks: tasks.jsonl", with: "tasks: \(file)")
            .replacingOccurrences(of: #"prompt_template: "Q: {{prompt}}""#, with: "prompt_template: \(yamlQuoted(template))")
        let url = dir.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try yaml.write(to: url.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
        try bytes.write(to: url.appendingPathComponent(file))
        return url
    }

    static func yamlQuoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Expects loading to be refused with an `invalid_input` whose message contains every part.
    static func expectRefused(
        _ url: URL, limits: PackLimits = .default, _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(sourceLocation: sourceLocation) { try TaskPack.load(directory: url, limits: limits) } throws: { error in
            guard let e = error as? EnvrunError else { return false }
            let ok = e.code == .invalidInput && parts.allSatisfy { e.message.contains($0) }
            if !ok { print("unexpected error: \(e)") }
            return ok
        }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    // MARK: gzip bomb

    /// One task, then 32 MiB of blank-looking lines (1,023 spaces each) as 32 gzip members of 1 MiB:
    /// a 35 KB file. The old reader inflated all of it into memory and loaded the pack.
    @Test func gzipBombIsRefusedAtTheDecompressedCap() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let spaces = Data((String(repeating: " ", count: 1023) + "\n").utf8)
        let member = try Gzip.compress(Data([Data](repeating: spaces, count: 1024).joined()))
        var bomb = try Gzip.compress(Data((Self.goodLine + "\n").utf8))
        for _ in 0..<32 { bomb.append(member) }
        #expect(bomb.count < 100_000)
        let url = try Self.pack(dir, file: "tasks.jsonl.gz", bytes: bomb)
        var limits = PackLimits()
        limits.taskFileBytes = 4 << 20
        let time = Self.seconds {
            Self.expectRefused(url, limits: limits, ["g/tasks.jsonl.gz", "decompresses to more than the limit of 4 MiB"])
        }
        #expect(time < 2)
        // Under a cap it fits in, the same file loads: the refusal is the cap, not the file's form.
        limits.taskFileBytes = 40 << 20
        #expect(try TaskPack.load(directory: url, limits: limits).tasks.map(\.id) == ["a"])
    }

    /// At the default cap (256 MiB) a 2 GiB bomb (2 MB on disk) stops at the cap, having handed on at most
    /// one 64 KiB chunk past it, and never holds more than a chunk.
    @Test func gzipBombAtTheDefaultCapStopsStreaming() throws {
        let member = try Gzip.compress(Data(count: 1 << 20))
        let bomb = Data([Data](repeating: member, count: 2048).joined())
        #expect(bomb.count < 4 << 20)
        let inflater = try GzipInflater(name: "bomb.jsonl.gz", limit: PackLimits.default.taskFileBytes)
        var received = 0
        var largest = 0
        let time = Self.seconds {
            #expect { try bomb.withUnsafeBytes { try inflater.feed($0) { received += $0.count; largest = max(largest, $0.count) } } }
                throws: { ($0 as? EnvrunError)?.message.contains("bomb.jsonl.gz: decompresses to more than the limit of 256 MiB") == true }
        }
        #expect(received <= PackLimits.default.taskFileBytes)
        #expect(received > PackLimits.default.taskFileBytes - (1 << 16))
        #expect(largest <= 1 << 16)
        print("default-cap gzip bomb (2 GiB in \(bomb.count) bytes) refused after \(received) bytes in \(time) s")
        #expect(time < 5)
    }

    // MARK: lines

    /// One task and 2,000,000 newlines: the old reader split them all into a list (and a gzipped 2 GB of
    /// newlines into 2 billion). Refused at line 1,000,001.
    @Test func newlineBombIsRefusedAtTheDefaultLineCap() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var text = Data((Self.goodLine + "\n").utf8)
        text.append(Data(repeating: 0x0a, count: 2_000_000))
        let url = try Self.pack(dir, bytes: text)
        Self.expectRefused(url, ["g/tasks.jsonl: more than the limit of 1000000 lines"])
    }

    /// The same through gzip, at a lowered cap (so it stays fast), and the same file under a cap it fits.
    @Test func gzippedNewlineBombIsRefusedAtTheLineCap() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var text = Data((Self.goodLine + "\n").utf8)
        text.append(Data(repeating: 0x0a, count: 200_000))
        let url = try Self.pack(dir, file: "tasks.jsonl.gz", bytes: try Gzip.compress(text))
        var limits = PackLimits()
        limits.lines = 100_000
        Self.expectRefused(url, limits: limits, ["g/tasks.jsonl.gz: more than the limit of 100000 lines"])
        limits.lines = 200_001
        #expect(try TaskPack.load(directory: url, limits: limits).tasks.count == 1)
    }

    /// A 5 MiB line (a valid task with a 5 MiB prompt) passes the 4 MiB line cap and is refused by line.
    @Test func overLongLineIsRefusedWithItsLineNumber() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let big = #"{"id":"big","prompt":""# + String(repeating: "x", count: 5 << 20) + #"","answer":"1"}"#
        let url = try Self.pack(dir, bytes: Data((Self.goodLine + "\n" + big + "\n").utf8))
        Self.expectRefused(url, ["g/tasks.jsonl:2: line longer than the limit of 4 MiB"])
    }

    /// The splitter refuses a line once it has seen `lineBytes` of it: fed 64 KiB at a time, an endless
    /// line costs at most the cap plus one chunk.
    @Test func overLongLineIsRefusedBeforeItIsHeldWhole() throws {
        var limits = PackLimits()
        limits.lineBytes = 1 << 20
        var splitter = LineSplitter(name: "t.jsonl", limits: limits)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16)
        var fed = 0
        var lines = 0
        #expect {
            while fed < 64 << 20 {
                try chunk.withUnsafeBytes { try splitter.feed($0) { _, _ in lines += 1 } }
                fed += chunk.count
            }
        } throws: { ($0 as? EnvrunError)?.message == "t.jsonl:1: line longer than the limit of 1 MiB (1048576 bytes); refused" }
        #expect(fed <= (1 << 20) + chunk.count)
        #expect(lines == 0)
    }

    // MARK: template and rendered prompts

    @Test func templateWithTooManyCopiesOfThePromptIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let template = String(repeating: "{{prompt}} ", count: 100)
        let url = try Self.pack(dir, bytes: Data((Self.goodLine + "\n").utf8), template: template)
        Self.expectRefused(url, ["g/pack.yaml:7", "contains {{prompt}} 100 times, over the limit of 4"])
    }

    @Test func oversizedTemplateIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let template = String(repeating: "Think hard. ", count: 6000) + "{{prompt}}"
        let url = try Self.pack(dir, bytes: Data((Self.goodLine + "\n").utf8), template: template)
        Self.expectRefused(url, ["g/pack.yaml:7", "over the limit of 64 KiB"])
    }

    /// Four copies (allowed) of a 300 KiB prompt render to 1.2 MiB: refused by task and line.
    @Test func renderedPromptOverTheCapIsRefusedByTaskAndLine() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let long = #"{"id":"long","prompt":""# + String(repeating: "y", count: 300 << 10) + #"","answer":"1"}"#
        let url = try Self.pack(
            dir, bytes: Data((Self.goodLine + "\n" + long + "\n").utf8), template: "{{prompt}} {{prompt}} {{prompt}} {{prompt}}")
        Self.expectRefused(url, ["g/tasks.jsonl:2: task long: the prompt as rendered by prompt_template is 1228803 bytes, over the limit of 1 MiB"])
        // One copy of it is fine.
        let single = try Self.pack(dir, bytes: Data((Self.goodLine + "\n" + long + "\n").utf8), template: "{{prompt}}", name: "s")
        #expect(try TaskPack.load(directory: single).tasks.count == 2)
    }

    /// A page of the listing stops at `pageBytes` (and pages on to the end); the old listing returned
    /// every task asked for, whatever their size.
    @Test func aPageOfTheListingStaysUnderThePageCap() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lines = (0..<200).map { #"{"id":"t\#($0)","prompt":""# + String(repeating: "z", count: 10_000) + #"","answer":"1"}"# }
        _ = try Self.pack(dir, bytes: Data(lines.joined(separator: "\n").utf8))
        var limits = PackLimits()
        limits.pageBytes = 64 << 10
        let env = PackEnvironment(packs: try PackLibrary.load(directory: dir.url), limits: limits)
        var offset = 0
        var seen: [String] = []
        while true {
            let page = try env.tasks(pack: "g", offset: offset, limit: 200)
            if page.isEmpty { break }
            #expect(page.count <= 7)
            #expect(page.reduce(0) { $0 + $1.approximateBytes } <= limits.pageBytes)
            seen += page.map(\.id)
            offset += page.count
        }
        #expect(seen == (0..<200).map { "t\($0)" })
    }

    /// A 600-byte "billion laughs": nine levels of ten aliases, the last used as a mapping key, which Yams
    /// hashes in full (minutes of CPU before). Refused by the scan before Yams sees it, naming the line.
    @Test func yamlAliasBombIsRefusedQuickly() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var yaml = ["name: lol", "version: 1", "description: d", "license: MIT", "source: s", "tasks: tasks.jsonl"]
        yaml.append("a0: &a0 [x, x, x, x, x, x, x, x, x, x]")
        for i in 1...8 { yaml.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        yaml += ["? *a8", ": boom", "reward:", "  verifier: math"]
        let url = try Self.pack(dir, bytes: Data((Self.goodLine + "\n").utf8))
        try yaml.joined(separator: "\n").write(to: url.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
        let time = Self.seconds {
            Self.expectRefused(url, ["g/pack.yaml:7: YAML anchors and aliases (&name, *name) are not allowed"])
        }
        #expect(time < 1)
    }

    /// `&` and `*` inside scalars are text, not anchors: such a manifest still loads.
    @Test func ampersandsAndStarsInTextAreNotAliases() throws {
        let m = try ManifestParser.parse(yaml: """
            name: amp
            version: 1.0.0
            description: "R&D *stars* & more"
            license: MIT
            source: a & b
            tasks: tasks.jsonl
            prompt_template: |-
              &x *y {{prompt}}
            reward:
              verifier: math
            """)
        #expect(m.description == "R&D *stars* & more")
        #expect(m.render(prompt: "p") == "&x *y p")
    }

    // MARK: paths

    enum Escape: String, CaseIterable, Sendable {
        case dotDot, absolute, symlinkedFolder, symlinkedWeights, danglingSymlink
    }

    /// `reward.model` must stay inside the pack folder, the repository's Models/ or a configured folder,
    /// after symlinks, and so must the files of the model folder.
    @Test(arguments: Escape.allCases)
    func modelPathOutsideThePackIsRefused(escape: Escape) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let fm = FileManager.default
        let tasks = dir.url.appendingPathComponent("Tasks")
        let outside = dir.url.appendingPathComponent("elsewhere/head")
        try fm.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: outside.appendingPathComponent("head.json"))
        let packURL = tasks.appendingPathComponent("g")
        try fm.createDirectory(at: packURL, withIntermediateDirectories: true)
        let model: String
        switch escape {
        case .dotDot:
            model = "../../elsewhere/head"
        case .absolute:
            model = outside.path
        case .symlinkedFolder:
            try fm.createSymbolicLink(atPath: packURL.appendingPathComponent("head").path, withDestinationPath: outside.path)
            model = "head"
        case .symlinkedWeights:
            let head = packURL.appendingPathComponent("head")
            try fm.createDirectory(at: head, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: head.appendingPathComponent("head.json"))
            try fm.createSymbolicLink(
                atPath: head.appendingPathComponent("head.safetensors").path,
                withDestinationPath: outside.appendingPathComponent("head.json").path)
            model = "head"
        case .danglingSymlink:
            try fm.createSymbolicLink(
                atPath: packURL.appendingPathComponent("head").path, withDestinationPath: dir.url.appendingPathComponent("later").path)
            model = "head"
        }
        let url = try Self.pack(
            TempDir.at(tasks), bytes: Data((Self.goodLine + "\n").utf8),
            reward: "  verifier: scalar_rm\n  model: \(model)")
        Self.expectRefused(url, ["g/pack.yaml: reward.model \"\(model)\"", "outside the pack folder", "refused"])
        // A folder the operator names is allowed.
        var limits = PackLimits()
        limits.modelRoots = [dir.url.path]
        #expect(throws: Never.self) { try TaskPack.load(directory: url, limits: limits) }
    }

    /// What stays allowed: a head in the pack, in the repository's Models/ (the shipped hh-helpful), and a
    /// head that does not exist yet (`pack validate` reports it missing), each resolved where it was before.
    @Test(arguments: [
        ("head", "Tasks/g/head"), ("Models/head", "Models/head"), ("Models/not-trained-yet", "Models/not-trained-yet"),
        ("./head/../head", "Tasks/g/head"), ("not-here", "Tasks/g/not-here"),
    ])
    func modelPathsInsideAreAccepted(model: String, expected: String) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let fm = FileManager.default
        let tasks = dir.url.appendingPathComponent("Tasks")
        for head in [tasks.appendingPathComponent("g/head"), dir.url.appendingPathComponent("Models/head")] {
            try fm.createDirectory(at: head, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: head.appendingPathComponent("head.json"))
        }
        let url = try Self.pack(
            TempDir.at(tasks), bytes: Data((Self.goodLine + "\n").utf8), reward: "  verifier: scalar_rm\n  model: \(model)")
        let pack = try TaskPack.load(directory: url)
        #expect(pack.manifest.reward.scalarRM?.model == dir.url.appendingPathComponent(expected).standardizedFileURL.path)
    }

    /// The task file (and pack.yaml) must be regular files inside the pack: a symlink out of it, or a FIFO
    /// (the old reader would block on it for ever), is refused.
    @Test func taskFileOutsideThePackOrNotARegularFileIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let outside = dir.url.appendingPathComponent("secret.jsonl")
        try Data((Self.goodLine + "\n").utf8).write(to: outside)
        let url = try Self.pack(dir, bytes: Data())
        let file = url.appendingPathComponent("tasks.jsonl")
        try FileManager.default.removeItem(at: file)
        try FileManager.default.createSymbolicLink(at: file, withDestinationURL: outside)
        Self.expectRefused(url, ["g/tasks.jsonl: resolves to", "outside the pack folder"])
        try FileManager.default.removeItem(at: file)
        try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: "/dev/zero")
        Self.expectRefused(url, ["g/tasks.jsonl: resolves to /dev/zero, outside the pack folder"])
        try FileManager.default.removeItem(at: file)
        #expect(mkfifo(file.path, 0o600) == 0)
        Self.expectRefused(url, ["g/tasks.jsonl: not a regular file"])
    }

    @Test func oversizedManifestIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = try Self.pack(dir, bytes: Data((Self.goodLine + "\n").utf8))
        let yaml = url.appendingPathComponent("pack.yaml")
        var text = try String(contentsOf: yaml, encoding: .utf8)
        text += "\n# " + String(repeating: "padding ", count: 200_000) + "\n"
        try text.write(to: yaml, atomically: true, encoding: .utf8)
        Self.expectRefused(url, ["g/pack.yaml: larger than the limit of 1 MiB"])
    }

    /// One hostile pack among good ones stops the whole load (as any broken pack always has), naming the
    /// file, so `envrun serve` and `envrun pack validate` never run without a pack they were given.
    @Test func oneHostilePackStopsTheLibraryLoadNamingTheFile() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try TempDir.write(pack: "a-good", into: dir.url)
        try TempDir.write(pack: "c-good", into: dir.url)
        let long = #"{"id":"long","prompt":""# + String(repeating: "y", count: 300 << 10) + #"","answer":"1"}"#
        _ = try Self.pack(
            dir, bytes: Data((long + "\n").utf8), template: "{{prompt}} {{prompt}} {{prompt}} {{prompt}}", name: "b-bomb")
        #expect { try PackLibrary.load(directory: dir.url) } throws: {
            ($0 as? EnvrunError)?.message.hasPrefix("b-bomb/tasks.jsonl:1: task long: the prompt as rendered") == true
        }
        #expect { try PackEnvironment(directory: dir.url) } throws: {
            ($0 as? EnvrunError)?.message.contains("b-bomb/tasks.jsonl:1") == true
        }
    }
}

extension TempDir {
    /// A `TempDir` value for an existing folder (its owner cleans it up).
    static func at(_ url: URL) throws -> TempDir {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return TempDir(existing: url)
    }

    init(existing url: URL) { self.url = url }
}
