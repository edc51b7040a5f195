import AsyncHTTPClient
import EnvrunCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `envrun bench serve`: the same scoring work in-process (`BatchScorer`) and over loopback HTTP
/// (`POST /v1/score` on a server started in this process on 127.0.0.1, port 0), so the HTTP overhead is
/// a ratio measured in one run on the same cores.
public enum ServeBench {
    public struct Options: Sendable {
        public var seconds: Double = 4
        public var rounds: Int = 3
        public var clients: Int = 4
        public init() {}
    }

    public struct Workload: Sendable {
        public var name: String
        public var batches: [[ScoreItem]]
        public init(name: String, batches: [[ScoreItem]]) {
            self.name = name
            self.batches = batches
        }
    }

    public struct Figures: Sendable {
        public var requests: Int
        public var requestsPerSecond: Double
        public var itemsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
    }

    public struct Row: Sendable {
        public var workload: String
        public var batchSize: Int
        public var meanReward: Double
        public var inProcess: Figures
        /// In-process plus the JSON decoding of the request and encoding of the answer (no HTTP).
        public var withJSON: Figures
        public var http: Figures
        /// HTTP time per request over in-process time per request (median round throughputs).
        public var ratio: Double { inProcess.requestsPerSecond / http.requestsPerSecond }
        /// True when the HTTP rewards equal the in-process ones for the first batch.
        public var agree: Bool
    }

    public static func run(
        environment: any EnvrunCore.Environment, executor: any CodeExecutor, workloads: [Workload],
        options: Options, logger: Logger, progress: @escaping @Sendable (String) -> Void
    ) async throws -> [Row] {
        var config = ServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.maxConcurrency = options.clients * 2
        config.maxQueue = options.clients * 4
        config.maxBatchItems = max(config.maxBatchItems, workloads.flatMap(\.batches).map(\.count).max() ?? 0)
        let scorer = BatchScorer(environment: environment, concurrency: config.itemConcurrency, logger: logger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(configuration: config, environment: environment, executor: executor,
                                   logger: logger, onServerRunning: { portContinuation.yield($0) })
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw EnvrunError(.internal, "the bench server did not start") }
            let url = "http://127.0.0.1:\(port)/v1/score"
            defer { Task { await services.triggerGracefulShutdown() } }
            var rows: [Row] = []
            do {
                for workload in workloads {
                    rows.append(try await measure(workload, scorer: scorer, client: client, url: url,
                                                  options: options, progress: progress))
                }
            } catch {
                try? await client.shutdown()
                await services.triggerGracefulShutdown()
                throw error
            }
            try await client.shutdown()
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return rows
        }
    }

    static func measure(_ workload: Workload, scorer: BatchScorer, client: HTTPClient, url: String,
                        options: Options, progress: @escaping @Sendable (String) -> Void) async throws -> Row
    {
        let bodies = try workload.batches.map { ByteBuffer(data: try JSONEncoder().encode(ScoreRequest(items: $0))) }
        let batchSize = workload.batches.first?.count ?? 0

        // Correctness first: the first batch gives the same rewards both ways.
        let local = await scorer.score(workload.batches[0])
        let remote = try JSONDecoder().decode(ScoreResponse.self, from: Data(buffer: try await post(client, url, bodies[0])))
        let agree = local.map(\.reward) == remote.results.map(\.reward) && local.map(\.status) == remote.results.map(\.status)
        let meanReward = local.map(\.reward).reduce(0, +) / Double(max(1, local.count))

        let bodyData = bodies.map { Data(buffer: $0) }
        var inRounds: [Sample] = [], jsonRounds: [Sample] = [], httpRounds: [Sample] = []
        for round in 1...max(1, options.rounds) {
            progress("\(workload.name): round \(round)/\(options.rounds) in-process…")
            inRounds.append(try await timed(clients: options.clients, seconds: options.seconds,
                                            count: workload.batches.count) { i in
                _ = await scorer.score(workload.batches[i])
            })
            progress("\(workload.name): round \(round)/\(options.rounds) in-process with JSON…")
            jsonRounds.append(try await timed(clients: options.clients, seconds: options.seconds,
                                              count: workload.batches.count) { i in
                let request = try ScoreRequestReader.read(Array(bodyData[i]))
                    ?? JSONDecoder().decode(ScoreRequest.self, from: bodyData[i])
                _ = RewardJSON.encode(await scorer.score(request.items))
            })
            progress("\(workload.name): round \(round)/\(options.rounds) over HTTP…")
            httpRounds.append(try await timed(clients: options.clients, seconds: options.seconds,
                                              count: workload.batches.count) { i in
                _ = try await post(client, url, bodies[i])
            })
        }
        return Row(workload: workload.name, batchSize: batchSize, meanReward: meanReward,
                   inProcess: figures(inRounds, batchSize: batchSize),
                   withJSON: figures(jsonRounds, batchSize: batchSize), http: figures(httpRounds, batchSize: batchSize),
                   agree: agree)
    }

    static func post(_ client: HTTPClient, _ url: String, _ body: ByteBuffer) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
        guard response.status == .ok else {
            throw EnvrunError(.internal, "bench request failed: \(response.status) \(String(buffer: bytes).prefix(300))")
        }
        return bytes
    }

    struct Sample: Sendable {
        var latenciesMs: [Double]
        var seconds: Double
    }

    /// `clients` workers loop over the batches until `seconds` have passed (after a short warm-up).
    static func timed(clients: Int, seconds: Double, count: Int,
                      _ work: @escaping @Sendable (Int) async throws -> Void) async throws -> Sample
    {
        let next = Ticket()
        let clock = ContinuousClock()
        // Warm-up: each worker does a couple of requests, not counted.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask { for _ in 0..<2 { try await work(next.take() % count) } }
            }
            try await group.waitForAll()
        }
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var mine: [Double] = []
                    while clock.now < deadline {
                        let t0 = clock.now
                        try await work(next.take() % count)
                        mine.append((clock.now - t0).milliseconds)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        return Sample(latenciesMs: latencies, seconds: (clock.now - start).milliseconds / 1000)
    }

    static func figures(_ rounds: [Sample], batchSize: Int) -> Figures {
        let rates = rounds.map { Double($0.latenciesMs.count) / $0.seconds }.sorted()
        let rps = rates[rates.count / 2]
        let all = rounds.flatMap(\.latenciesMs).sorted()
        func pct(_ p: Double) -> Double { all.isEmpty ? 0 : all[min(all.count - 1, Int((Double(all.count - 1) * p).rounded()))] }
        return Figures(requests: all.count, requestsPerSecond: rps, itemsPerSecond: rps * Double(batchSize),
                       p50Ms: pct(0.5), p99Ms: pct(0.99))
    }

    /// The report as printed by `envrun bench serve`.
    public static func render(_ rows: [Row], options: Options) -> String {
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        var out = "envrun bench serve — \(options.clients) clients, \(options.rounds) rounds of \(f(options.seconds)) s, "
        out += "loopback HTTP/1.1 keep-alive (median round throughput; p50/p99 over all rounds)\n"
        out += "workload         batch  mean-reward  in-process req/s  items/s   p50 ms  p99 ms | +JSON req/s | HTTP req/s  items/s   p50 ms  p99 ms | ratio  agree\n"
        for r in rows {
            out += r.workload.padding(toLength: 16, withPad: " ", startingAt: 0)
            out += " " + String(r.batchSize).leftPad(5) + "  " + f(r.meanReward, 3).leftPad(11)
            out += "  " + f(r.inProcess.requestsPerSecond).leftPad(16) + " " + f(r.inProcess.itemsPerSecond, 0).leftPad(8)
            out += " " + f(r.inProcess.p50Ms, 2).leftPad(8) + " " + f(r.inProcess.p99Ms, 2).leftPad(7)
            out += " | " + f(r.withJSON.requestsPerSecond).leftPad(11)
            out += " | " + f(r.http.requestsPerSecond).leftPad(10) + " " + f(r.http.itemsPerSecond, 0).leftPad(8)
            out += " " + f(r.http.p50Ms, 2).leftPad(8) + " " + f(r.http.p99Ms, 2).leftPad(7)
            out += " | " + (f(r.ratio, 2) + "×").leftPad(6) + "  " + (r.agree ? "yes" : "NO") + "\n"
        }
        out += "ratio = in-process req/s ÷ HTTP req/s (1.00× = no HTTP overhead; target for math ≤ 1.5×); "
        out += "+JSON = in-process with the request decoded and the answer encoded, no socket\n"
        return out
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// A shared round-robin counter for the bench workers.
final class Ticket: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
