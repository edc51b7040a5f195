import EnvrunCore
import EnvrunRewards
import EnvrunTesting
import Foundation
import Synchronization
import Testing

@testable import EnvrunTasks

@Suite("PackEnvironment")
struct EnvironmentTests {
    let judge = FakeCodeJudge()

    /// Two packs on disk: `code` (3 turns, fraction) and `sums` (math).
    func makeEnvironment(
        _ dir: TempDir, episodes: EpisodeSettings = EpisodeSettings(), clock: TestClock = TestClock()
    ) throws -> PackEnvironment {
        try dir.pack("code", yaml: manifest(name: "code", reward: """
              verifier: code_tests
              mode: fraction
              multi_turn: {max_turns: 3}
            """), tasks: [
                #"{"id":"t1","prompt":"def f(x):\n","tests":"assert f(1)\nassert f(2)\n","entry_point":"f"}"#,
                #"{"id":"t2","prompt":"def g():\n","tests":"assert g()\n","entry_point":"g"}"#,
            ])
        try dir.pack("sums", yaml: manifest(name: "sums", reward: "  verifier: math"), tasks: (0..<25).map {
            #"{"id":"s\#($0)","prompt":"\#($0)+1","answer":"\#($0 + 1)"}"#
        })
        let packs = try PackLibrary.load(directory: dir.url)
        return PackEnvironment(
            packs: packs, dependencies: RewardDependencies(codeJudge: judge, mathCheck: fakeMathCheck),
            episodes: episodes, clock: { clock.now() })
    }

    @Test func listsAndPagesTasksWithRenderedPrompts() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let env = try makeEnvironment(dir)
        #expect(env.packs().map(\.name) == ["code", "sums"])
        #expect(env.packs()[0] == PackInfo(name: "code", version: "1.0.0", description: "test pack", license: "MIT",
                                           verifier: "code_tests", taskCount: 2, multiTurn: true))
        let page = try env.tasks(pack: "sums", offset: 20, limit: 10)
        #expect(page.map(\.id) == ["s20", "s21", "s22", "s23", "s24"])
        #expect(page[0].prompt == "Q: 20+1")
        #expect(try env.tasks(pack: "sums", offset: 25, limit: 10).isEmpty)
        #expect { try env.tasks(pack: "sums", offset: -1, limit: 10) } throws: { ($0 as? EnvrunError)?.field == "offset" }
        #expect { try env.tasks(pack: "sums", offset: 0, limit: 0) } throws: { ($0 as? EnvrunError)?.field == "limit" }
    }

    @Test func unknownThingsAreNotFoundNamingTheField() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let env = try makeEnvironment(dir)
        func expectNotFound(_ field: String, _ body: () async throws -> Void) async {
            do {
                try await body()
                Issue.record("expected not_found on \(field)")
            } catch let e as EnvrunError {
                #expect(e.code == .notFound && e.field == field, "\(e)")
            } catch { Issue.record("\(error)") }
        }
        await expectNotFound("pack") { _ = try await env.score(ScoreItem(pack: "nope", taskID: "s1", response: "2")) }
        await expectNotFound("pack") { _ = try env.tasks(pack: "nope", offset: 0, limit: 1) }
        await expectNotFound("task_id") { _ = try await env.score(ScoreItem(pack: "sums", taskID: "s99", response: "2")) }
        await expectNotFound("pack") { _ = try await env.reset(pack: "nope", taskID: "t1") }
        await expectNotFound("task_id") { _ = try await env.reset(pack: "code", taskID: "t9") }
        await expectNotFound("episode_id") { _ = try await env.step(episodeID: "no-such-episode", action: "x") }
        do {
            _ = try await env.score(ScoreItem(pack: "sums", response: "2"))
            Issue.record("expected invalid_input")
        } catch let e as EnvrunError {
            #expect(e.code == .invalidInput && e.field == "task_id")
        }
    }

    @Test func scoresByIdAndInline() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let env = try makeEnvironment(dir)
        let right = try await env.score(ScoreItem(pack: "sums", taskID: "s4", response: "so \\boxed{5}"))
        #expect(right.reward == 1 && right.status == .ok && right.details["extracted_answer"] == "5")
        let wrong = try await env.score(ScoreItem(pack: "sums", taskID: "s4", response: "\\boxed{6}"))
        #expect(wrong.reward == 0 && wrong.status == .ok)
        let inline = try await env.score(ScoreItem(pack: "sums", task: TaskSpec(id: "", prompt: "x", answer: "7"), response: "7"))
        #expect(inline.reward == 1)
        let code = try await env.score(ScoreItem(pack: "code", taskID: "t1", response: "def f(x): return 1  # PASS 1"))
        #expect(code.reward == 0.5)
        // The code reward saw the stored (raw) task, not the rendered prompt.
        #expect(judge.programs.last == "def f(x): return 1  # PASS 1")
    }

    @Test func multiTurnEpisodeRetriesWithFeedbackUntilSolved() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let env = try makeEnvironment(dir)
        let start = try await env.reset(pack: "code", taskID: "t1")
        #expect(start.observation == "Q: def f(x):\n" && start.turn == 0 && !start.done)

        let first = try await env.step(episodeID: start.episodeID, action: "def f(x): pass  # PASS 0")
        #expect(!first.done && first.turn == 1 && first.turnRewards == [0])
        // The judge's text names the failing test; by default (`reward.feedback: summary`) it is not shown.
        #expect(first.observation.contains("Passed 0 of 2 tests"))
        #expect(!first.observation.contains("AssertionError: test 1 failed"))
        #expect(first.observation.contains("2 turns left"))

        let second = try await env.step(episodeID: start.episodeID, action: "def f(x): pass  # PASS 1")
        #expect(!second.done && second.turnRewards == [0, 0.5])

        let third = try await env.step(episodeID: start.episodeID, action: "def f(x): return x  # PASS_ALL")
        #expect(third.done && third.turn == 3 && third.turnRewards == [0, 0.5, 1])
        #expect(third.reward?.reward == 1)
        do {
            _ = try await env.step(episodeID: start.episodeID, action: "again")
            Issue.record("a finished episode must refuse steps")
        } catch let e as EnvrunError {
            #expect(e.code == .invalidInput && e.field == "episode_id")
        }
    }

    @Test func episodeEndsAfterMaxTurnsAndSolvedEarly() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let env = try makeEnvironment(dir)
        let e = try await env.reset(pack: "code", taskID: "t2")
        var last: StepResult?
        for _ in 0..<3 { last = try await env.step(episodeID: e.episodeID, action: "nope") }
        #expect(last?.done == true && last?.turnRewards == [0, 0, 0])
        #expect(last?.observation.contains("no turns are left") == true)

        let quick = try await env.reset(pack: "code", taskID: "t2")
        let solved = try await env.step(episodeID: quick.episodeID, action: "PASS_ALL")
        #expect(solved.done && solved.turn == 1)

        // A single-turn pack ends after one step.
        let math = try await env.reset(pack: "sums", taskID: "s1")
        let answered = try await env.step(episodeID: math.episodeID, action: "3")
        #expect(answered.done && answered.turnRewards == [0])
    }

    @Test func aFailedCheckDoesNotUseATurn() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let env = try makeEnvironment(dir)
        let e = try await env.reset(pack: "code", taskID: "t1")
        let crashed = try await env.step(episodeID: e.episodeID, action: "SANDBOX_ERROR")
        #expect(crashed.reward?.status == .error && !crashed.done && crashed.turn == 0 && crashed.turnRewards.isEmpty)
        #expect(crashed.observation.contains("could not be made"))
        let next = try await env.step(episodeID: e.episodeID, action: "PASS 1")
        #expect(next.turn == 1 && next.turnRewards == [0.5])
    }

    @Test func episodesExpireAndAreBounded() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let clock = TestClock()
        let env = try makeEnvironment(dir, episodes: EpisodeSettings(capacity: 3, ttl: .seconds(60)), clock: clock)
        let old = try await env.reset(pack: "code", taskID: "t1")
        clock.advance(.seconds(61))
        do {
            _ = try await env.step(episodeID: old.episodeID, action: "x")
            Issue.record("an expired episode must be gone")
        } catch let e as EnvrunError {
            #expect(e.code == .notFound)
        }
        var ids: [String] = []
        for _ in 0..<5 {
            clock.advance(.seconds(1))
            ids.append(try await env.reset(pack: "code", taskID: "t1").episodeID)
        }
        #expect(await env.openEpisodes() == 3)
        // The two least recently used were evicted; the newest still work.
        await #expect(throws: EnvrunError.self) { try await env.step(episodeID: ids[0], action: "x") }
        let kept = try await env.step(episodeID: ids[4], action: "PASS 1")
        #expect(kept.turn == 1)
    }

    @Test func loadsADirectoryAndFindsTheDefault() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let tasks = dir.url.appendingPathComponent("repo/Tasks")
        try FileManager.default.createDirectory(at: tasks, withIntermediateDirectories: true)
        let packsDir = try TempDir()
        defer { packsDir.cleanup() }
        try TempDir.write(pack: "one", into: tasks)
        let nested = dir.url.appendingPathComponent("repo/.build/debug")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        let found = PackLibrary.defaultDirectory(
            environment: [:], currentDirectory: URL(fileURLWithPath: "/"),
            executable: nested.appendingPathComponent("envrun"))
        #expect(found?.standardizedFileURL.path == tasks.standardizedFileURL.path)
        let fromCwd = PackLibrary.defaultDirectory(environment: [:], currentDirectory: nested, executable: URL(fileURLWithPath: "/x"))
        #expect(fromCwd?.standardizedFileURL.path == tasks.standardizedFileURL.path)
        let env = try PackEnvironment(directory: tasks)
        #expect(env.packs().map(\.name) == ["one"])
        #expect(PackLibrary.defaultDirectory(environment: ["ENVRUN_PACKS": "/elsewhere"])?.path == "/elsewhere")
        #expect(throws: EnvrunError.self) { try PackEnvironment(directory: dir.url.appendingPathComponent("missing")) }
    }

    @Test func duplicatePackNamesAreAnError() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.pack("a", yaml: manifest(name: "same", reward: "  verifier: math"), tasks: [#"{"id":"1","prompt":"p","answer":"1"}"#])
        try dir.pack("b", yaml: manifest(name: "same", reward: "  verifier: math"), tasks: [#"{"id":"1","prompt":"p","answer":"1"}"#])
        #expect { try PackLibrary.load(directory: dir.url) } throws: { ($0 as? EnvrunError)?.field == "name" }
    }
}

extension TempDir {
    static func write(pack name: String, into dir: URL) throws {
        let p = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: p, withIntermediateDirectories: true)
        try manifest(name: name, reward: "  verifier: math").write(to: p.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
        try #"{"id":"1","prompt":"p","answer":"1"}"#.write(to: p.appendingPathComponent("tasks.jsonl"), atomically: true, encoding: .utf8)
    }
}

@Suite("PackEnvironment batches")
struct BatchTests {
    @Test func batchKeepsOrderAndPerItemErrorsAndBatchesTheRM() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.pack("open", yaml: manifest(name: "open", reward: "  verifier: scalar_rm\n  model: m"), tasks: [
            #"{"id":"a","prompt":"hi"}"#, #"{"id":"b","prompt":"yo"}"#,
        ])
        try dir.pack("sums", yaml: manifest(name: "sums", reward: "  verifier: math"), tasks: [#"{"id":"s","prompt":"1+1","answer":"2"}"#])
        let calls = CallLog()
        let rm = FakeScalarRewardModel()
        let deps = RewardDependencies(scalarRMFactory: { _ in CountingRM(inner: rm, calls: calls) }, mathCheck: fakeMathCheck)
        let env = PackEnvironment(packs: try PackLibrary.load(directory: dir.url), dependencies: deps)
        let results = await env.score(batch: [
            ScoreItem(pack: "open", taskID: "a", response: String(repeating: "x", count: 10)),
            ScoreItem(pack: "sums", taskID: "s", response: "2"),
            ScoreItem(pack: "nope", taskID: "s", response: "2"),
            ScoreItem(pack: "open", taskID: "b", response: String(repeating: "x", count: 30)),
            ScoreItem(pack: "sums", taskID: "zz", response: "2"),
        ])
        #expect(try results[0].get().reward == 0.1)
        #expect(try results[1].get().reward == 1)
        #expect(throws: EnvrunError.self) { try results[2].get() }
        #expect(try results[3].get().reward == 0.3)
        #expect { try results[4].get() } throws: { ($0 as? EnvrunError)?.field == "task_id" }
        #expect(calls.values == [2])  // both RM items in one model call
    }
}

struct CountingRM: ScalarRewardModel {
    let inner: FakeScalarRewardModel
    let calls: CallLog
    var name: String { inner.name }
    func scores(prompts: [String], responses: [String]) async throws -> [Double] {
        calls.add(prompts.count)
        return try await inner.scores(prompts: prompts, responses: responses)
    }
}

final class CallLog: Sendable {
    let log = Mutex<[Int]>([])
    func add(_ n: Int) { log.withLock { $0.append(n) } }
    var values: [Int] { log.withLock { $0 } }
}
