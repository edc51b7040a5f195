import EnvrunCore
import EnvrunTasks
import EnvrunTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import EnvrunServer

/// Per-client episode quotas over real loopback connections: the client key is the peer address, so
/// 127.0.0.1 and 127.0.0.2 are two clients.
@Suite("episode quotas over HTTP")
struct EpisodeQuotaRouteTests {
    @Test("a client opening 10× its quota over HTTP does not evict another client's episode")
    func quotaIsPerPeer() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-quota-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeSumsPack(into: dir)
        let env = PackEnvironment(
            packs: try PackLibrary.load(directory: dir),
            episodes: EpisodeSettings(capacity: 10, perClient: 3, ttl: .seconds(3600)))
        var config = ServerConfiguration()
        config.port = 0
        let app = buildApplication(configuration: try config.validated(), environment: env, executor: FakeExecutor(),
                                   logger: Logger(label: "quota.test"))
        try await FDGate.exclusive {
            try await app.test(.live) { client in
                let port = try #require(client.port)
                // B, from 127.0.0.2, opens one episode first: the least recently used of all.
                let opened = try RawHTTP.post(from: "127.0.0.2", port: port, "/v1/episodes",
                                              json: #"{"pack":"sums","task_id":"s1"}"#)
                #expect(opened.status == 201)
                let theirs = try JSONDecoder().decode(StepResult.self, from: Data(opened.body.utf8))
                // A, from 127.0.0.1, opens 30 (10× its quota, 3× the global cap).
                for _ in 0..<30 {
                    let r = try await client.send(.post, "/v1/episodes", value: ResetRequest(pack: "sums", taskID: "s1"))
                    #expect(r.status == .created)
                }
                let step = try RawHTTP.post(from: "127.0.0.2", port: port, "/v1/episodes/\(theirs.episodeID)/step",
                                            json: #"{"action":"2"}"#)
                #expect(step.status == 200, "B's episode was evicted: \(step.body)")
                let metrics = try await client.send(.get, "/metrics").text
                #expect(metrics.contains("envrun_episodes_open 4.0"))
                #expect(metrics.contains("envrun_episode_clients 2.0"))
                #expect(metrics.contains(#"envrun_episodes_evicted_total{reason="client_quota"} 27"#))
                #expect(metrics.contains(#"envrun_episodes_evicted_total{reason="capacity"} 0"#))
            }
        }
    }

    @Test("the key is the peer address, with auth on too; no header a client sends changes it")
    func keys() async throws {
        let env = RecordingEnvironment()
        var config = ServerConfiguration()
        config.port = 0
        config.token = "s3cret-token"
        let app = buildApplication(configuration: try config.validated(), environment: env, executor: FakeExecutor(),
                                   logger: Logger(label: "quota.test"))
        try await FDGate.exclusive {
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let r = try await client.send(.post, "/v1/episodes", value: ResetRequest(pack: "fake-math", taskID: "1"),
                                              headers: [.authorization: "Bearer s3cret-token"])
                #expect(r.status == .created)
                let raw = try RawHTTP.post(from: "127.0.0.2", port: port, "/v1/episodes",
                                           json: #"{"pack":"fake-math","task_id":"1"}"#,
                                           headers: ["Authorization: Bearer s3cret-token", "X-Forwarded-For: 10.9.9.9"])
                #expect(raw.status == 201)
            }
        }
        #expect(env.keys.map(\.rawValue) == ["127.0.0.1", "127.0.0.2"])
    }

    @Test("without auth a made-up Authorization header makes no new key; no peer address is the shared key")
    func headerIgnoredWithoutAuth() async throws {
        let live = RecordingEnvironment()
        var config = ServerConfiguration()
        config.port = 0
        let app = buildApplication(configuration: try config.validated(), environment: live, executor: FakeExecutor(),
                                   logger: Logger(label: "quota.test"))
        try await FDGate.exclusive {
            try await app.test(.live) { client in
                for i in 0..<3 {
                    _ = try await client.send(.post, "/v1/episodes", value: ResetRequest(pack: "fake-math", taskID: "1"),
                                              headers: [.authorization: "Bearer made-up-\(i)"])
                }
            }
        }
        #expect(live.keys.map(\.rawValue) == ["127.0.0.1", "127.0.0.1", "127.0.0.1"])

        let inProcess = RecordingEnvironment()
        try await withApp(environment: inProcess) { client in
            _ = try await client.send(.post, "/v1/episodes", value: ResetRequest(pack: "fake-math", taskID: "1"))
        }
        #expect(inProcess.keys == [.shared])
    }

    @Test("IPv6 peers count by their /64; IPv4-mapped ones as the IPv4 address")
    func peerNames() throws {
        let v6 = try SocketAddress(ipAddress: "2001:db8:1:2:aaaa:bbbb:cccc:dddd", port: 1)
        #expect(ClientKeys.peerName(v6) == "2001:db8:1:2::/64")
        let other = try SocketAddress(ipAddress: "2001:db8:1:2::99", port: 2)
        #expect(ClientKeys.peerName(other) == ClientKeys.peerName(v6))
        let mapped = try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 3)
        #expect(ClientKeys.peerName(mapped) == "192.0.2.7")
        #expect(ClientKeys.peerName(try SocketAddress(ipAddress: "192.0.2.7", port: 4)) == "192.0.2.7")
        #expect(ClientKeys.key(remoteAddress: nil) == .shared)
    }

    @Test("max_episodes, episodes_per_client and episode_ttl_seconds come from the config file and are checked")
    func configuration() throws {
        let file = try ServerConfigFile.parse("max_episodes: 500\nepisodes_per_client: 20\nepisode_ttl_seconds: 90\n")
        let config = try file.apply(to: ServerConfiguration()).validated()
        #expect(config.episodes == EpisodeSettings(capacity: 500, perClient: 20, ttl: .seconds(90)))
        #expect(ServerConfiguration().episodes.perClient == 1_000)
        for (text, field) in [("episodes_per_client: 0", "episodes_per_client"), ("max_episodes: -1", "max_episodes"),
                              ("episode_ttl_seconds: 0", "episode_ttl_seconds")] {
            let bad = try ServerConfigFile.parse(text).apply(to: ServerConfiguration())
            #expect { try bad.validated() } throws: { ($0 as? ConfigurationError)?.field == field }
        }
    }

    static func writeSumsPack(into dir: URL) throws {
        let pack = dir.appendingPathComponent("sums")
        try FileManager.default.createDirectory(at: pack, withIntermediateDirectories: true)
        try """
        name: sums
        version: 1.0.0
        description: test pack
        license: MIT
        source: tests
        tasks: tasks.jsonl
        reward:
          verifier: math
        """.write(to: pack.appendingPathComponent("pack.yaml"), atomically: true, encoding: .utf8)
        try #"{"id":"s1","prompt":"1+1","answer":"2"}"#.appending("\n")
            .write(to: pack.appendingPathComponent("tasks.jsonl"), atomically: true, encoding: .utf8)
    }
}

/// The fake environment, recording the client key of every reset and every episode closed.
final class RecordingEnvironment: EnvrunCore.Environment {
    let inner = FakeEnvironment()
    private let recorded = Mutex<[ClientKey]>([])
    private let closes = Mutex<[String]>([])
    var keys: [ClientKey] { recorded.withLock { $0 } }
    var closed: [String] { closes.withLock { $0 } }
    func close(episodeID: String) async { closes.withLock { $0.append(episodeID) } }
    func packs() -> [PackInfo] { inner.packs() }
    func tasks(pack: String, offset: Int, limit: Int) throws -> [TaskSpec] {
        try inner.tasks(pack: pack, offset: offset, limit: limit)
    }
    func score(_ item: ScoreItem) async throws -> RewardResult { try await inner.score(item) }
    func reset(pack: String, taskID: String) async throws -> StepResult {
        try await reset(pack: pack, taskID: taskID, client: .shared)
    }
    func reset(pack: String, taskID: String, client: ClientKey) async throws -> StepResult {
        recorded.withLock { $0.append(client) }
        return try await inner.reset(pack: pack, taskID: taskID)
    }
    func step(episodeID: String, action: String) async throws -> StepResult {
        try await inner.step(episodeID: episodeID, action: action)
    }
}

/// One request from a chosen loopback source address over `RawConnection`, so a test can be a second
/// client (127.0.0.2) next to HummingbirdTesting's (127.0.0.1).
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func post(from source: String, port: Int, _ path: String, json: String, headers: [String] = [])
        throws -> (status: Int, body: String)
    {
        guard let connection = RawConnection(port: port, source: source) else {
            throw Failure(description: "cannot connect from \(source) to port \(port): errno \(errno)")
        }
        connection.send(RawConnection.request("POST", path, body: json, headers: headers))
        let response = connection.response(timeout: 30)
        guard let status = response.status else { throw Failure(description: "no answer: \(response.body.prefix(200))") }
        return (status, response.body)
    }
}
