import EnvrunCore
import EnvrunRewards
import EnvrunTasks
import EnvrunVerify
import Foundation
import Synchronization

/// A fresh temporary folder, removed by `cleanup()`.
struct TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-tasks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }

    /// Writes a pack folder `name` with the given manifest text and task lines.
    @discardableResult
    func pack(_ name: String, yaml: String, tasks: [String], file: String = "tasks.jsonl") throws -> URL {
        let dir = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try yaml.write(to: dir.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
        try (tasks.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
        return dir
    }
}

func manifest(name: String, reward: String, extra: String = "") -> String {
    """
    name: \(name)
    version: 1.0.0
    description: test pack
    license: MIT
    source: tests
    tasks: tasks.jsonl
    prompt_template: "Q: {{prompt}}"
    \(extra)reward:
    \(reward)
    """
}

/// A math check for tests: the extracted final answer must equal the gold text.
let fakeMathCheck: MathCheck = { gold, response, _ in
    guard let pred = AnswerExtraction.finalAnswer(response) else {
        return VerifyResult(equivalent: false, status: .unparseable, goldParsed: gold)
    }
    return VerifyResult(equivalent: pred == gold, status: .ok, goldParsed: gold, predParsed: pred)
}

/// A manual clock for episode expiry.
final class TestClock: Sendable {
    let instant = Mutex(ContinuousClock.now)
    func now() -> ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(_ d: Duration) { instant.withLock { $0 = $0 + d } }
}

/// The repository's Tasks/ folder (tests run from anywhere).
let shippedPacks = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Tasks")
