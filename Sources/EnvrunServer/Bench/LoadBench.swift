import AsyncHTTPClient
import EnvrunCore
import Foundation
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `envrun bench load`: drives a running `envrun serve` on loopback for a given time with the mixed
/// workload of `LoadWorkload` from `concurrency` clients, fires bursts of containment attacks on top,
/// samples the server's RSS and fds, and reports counts per class with the 429s apart.
public enum LoadBench {
    public struct Options: Sendable {
        public var duration: Double = 60
        public var concurrency: Int = 16
        /// Containment attacks fired at once every `attackEvery` seconds (0: no bursts).
        public var attackBurst: Int = 50
        public var attackEvery: Double = 30
        public var sampleEvery: Double = 5
        /// The flatness compares the first sample at or after this many seconds with the last
        /// (nil: a fifth of the duration, at most 60 s).
        public var warmup: Double?
        public var seed: UInt64 = 1
        public var weights: [LoadClass: Int] = LoadClass.defaultWeights
        public var requestTimeout: Double = 120
        /// Seconds the client keeps an idle connection; below the server's idle timeout (default 30 s).
        public var clientIdleTimeout: Double = 15
        /// Bearer token for a server started with one.
        public var token: String?
        public init() {}

        var warmupSeconds: Double { warmup ?? min(60, duration / 5) }
    }

    /// The server: its base URL (loopback only) and its pid (for `/proc`).
    public struct Target: Sendable {
        public var url: String
        public var pid: Int32
        public init(url: String, pid: Int32) throws {
            guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host, Self.isLoopback(host) else {
                throw EnvrunError(.invalidInput, "the load bench drives loopback servers only (http://127.0.0.1:PORT), got '\(url)'",
                                  field: "url")
            }
            self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
            self.pid = pid
        }

        public static func isLoopback(_ host: String) -> Bool {
            let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return h == "localhost" || h == "::1" || (h.hasPrefix("127.") && h.split(separator: ".").count == 4
                && h.split(separator: ".").allSatisfy { UInt8($0) != nil })
        }

        var port: Int { URL(string: url)?.port ?? 80 }
    }

    /// Runs the load and returns the report (`failures` filled in). `progress` gets a line per sample.
    public static func run(target: Target, workload: LoadWorkload, options: Options, secretPath: String,
                           secret: String, progress: @escaping @Sendable (String) -> Void) async throws -> LoadReport
    {
        let run = Run(target: target, workload: workload, options: options, secretPath: secretPath, secret: secret,
                      progress: progress)
        do {
            let report = try await run.go()
            try await run.client.shutdown()
            return report
        } catch {
            try? await run.client.shutdown()
            throw error
        }
    }
}

/// One run's shared state: the clock, the client, the recorder.
final class Run: Sendable {
    let target: LoadBench.Target
    let workload: LoadWorkload
    let options: LoadBench.Options
    let secretPath: String
    let secret: String
    let progress: @Sendable (String) -> Void
    let client: HTTPClient
    let recorder = LoadRecorder()
    let start = ContinuousClock.now
    let deadline: ContinuousClock.Instant
    let bursts = Mutex<[LoadReport.Burst]>([])
    let samples = Mutex<[ProcessSample]>([])
    let finished = Atomic<Bool>(false)
    let jobs = Atomic<Int>(0)

    init(target: LoadBench.Target, workload: LoadWorkload, options: LoadBench.Options, secretPath: String,
         secret: String, progress: @escaping @Sendable (String) -> Void)
    {
        self.target = target
        self.workload = workload
        self.options = options
        self.secretPath = secretPath
        self.secret = secret
        self.progress = progress
        var config = HTTPClient.Configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = options.concurrency + options.attackBurst + 4
        // The client closes an idle connection before the server would (its --idle-timeout), so no request
        // goes out on a connection the server is closing.
        config.connectionPool.idleTimeout = .milliseconds(Int64(options.clientIdleTimeout * 1000))
        config.timeout.connect = .seconds(10)
        config.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        deadline = start + .milliseconds(Int(options.duration * 1000))
    }

    var elapsed: Double { (ContinuousClock.now - start).seconds }

    func go() async throws -> LoadReport {
        let weights = LoadClass.allCases.compactMap { c -> (LoadClass, Int)? in
            guard c != .attackBurst, let w = options.weights[c], w > 0 else { return nil }
            return (c, w)
        }
        guard !weights.isEmpty else { throw EnvrunError(.invalidInput, "every class has weight 0", field: "mix") }
        await sample()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.sampler() }
            group.addTask {
                await withTaskGroup(of: Void.self) { load in
                    for worker in 0..<self.options.concurrency {
                        load.addTask { await self.worker(worker, weights: weights) }
                    }
                    if self.options.attackBurst > 0 { load.addTask { await self.burster() } }
                }
                self.finished.store(true, ordering: .releasing)
            }
        }
        await sample()
        return report()
    }

    // MARK: load

    func worker(_ index: Int, weights: [(LoadClass, Int)]) async {
        var rng = SplitMix64(seed: options.seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        let total = weights.reduce(0) { $0 + $1.1 }
        while ContinuousClock.now < deadline {
            // The first jobs of the run take every class once, so a short run still sends each.
            let ticket = jobs.wrappingAdd(1, ordering: .relaxed).oldValue
            var roll = rng.int(in: 0...(total - 1))
            let loadClass = ticket < weights.count ? weights[ticket].0 : weights.first { roll -= $0.1; return roll < 0 }!.0
            let job = workload.job(loadClass, rng: &rng)
            // A job that is under way at the deadline may finish its steps (an episode), but does not
            // retry its 429s for long after it.
            _ = await perform(job, rng: &rng, retryUntil: deadline + .seconds(5))
        }
    }

    /// Every `attackEvery` seconds (while the load runs), `attackBurst` containment attacks at once,
    /// cycling through the corpus; each retries its 429s until it gets a verdict.
    func burster() async {
        let attacks = workload.attackPrograms
        guard !attacks.isEmpty else { return }
        var next = start + .milliseconds(Int(options.attackEvery * 1000))
        var offset = 0
        while next < deadline {
            try? await Task.sleep(until: next, clock: .continuous)
            let startedAt = elapsed
            let t0 = ContinuousClock.now
            let results = await withTaskGroup(of: (answered: Bool, contained: Bool, saturated: Int).self) { group in
                for i in 0..<options.attackBurst {
                    let program = attacks[(offset + i) % attacks.count]
                    group.addTask {
                        var rng = SplitMix64(seed: self.options.seed &+ UInt64(i) &* 31 &+ UInt64(startedAt * 1000))
                        let job = LoadWorkload.runCodeJob(.attackBurst, program)
                        return await self.perform(job, rng: &rng, retryUntil: ContinuousClock.now + .seconds(300))
                    }
                }
                return await group.reduce(into: [(answered: Bool, contained: Bool, saturated: Int)]()) { $0.append($1) }
            }
            offset += options.attackBurst
            let burst = LoadReport.Burst(
                startSeconds: startedAt, seconds: (ContinuousClock.now - t0).seconds, fired: options.attackBurst,
                answered: results.filter(\.answered).count, contained: results.filter(\.contained).count,
                saturated: results.reduce(0) { $0 + $1.saturated })
            bursts.withLock { $0.append(burst) }
            progress("attack burst at \(Int(startedAt)) s: \(burst.contained)/\(burst.fired) contained, "
                         + "\(burst.saturated) × 429 retried, \(String(format: "%.1f", burst.seconds)) s")
            // The next one is due `attackEvery` after this one's start, or at once when this one took longer.
            next = max(next + .milliseconds(Int(options.attackEvery * 1000)), ContinuousClock.now)
        }
    }

    /// Runs a job's steps in order; a 429 is counted and the step retried after a short pause until
    /// `retryUntil`. Returns whether the last step was answered, whether every answer was as expected
    /// and contained, and the 429s met.
    func perform(_ job: LoadJob, rng: inout SplitMix64, retryUntil: ContinuousClock.Instant) async
        -> (answered: Bool, contained: Bool, saturated: Int)
    {
        var state: [String: String] = [:]
        var saturated = 0
        for step in job.steps {
            let request = step(state)
            while true {
                recorder.sent(job.loadClass)
                let t0 = ContinuousClock.now
                let answer: (status: Int, body: ByteBuffer, retryAfter: Double?)
                do {
                    answer = try await send(request)
                } catch {
                    recorder.transportError(job.loadClass, name: job.name, error: error, at: elapsed)
                    return (false, false, saturated)
                }
                let ms = (ContinuousClock.now - t0).seconds * 1000
                if answer.status == 429 {
                    recorder.answered(job.loadClass, name: job.name, status: 429, ms: ms, judgement: .ok, at: elapsed)
                    saturated += 1
                    guard ContinuousClock.now < retryUntil else { return (false, false, saturated) }
                    // As a client that honours Retry-After would: half to all of it, jittered.
                    let ms = Int(min(10, answer.retryAfter ?? 1) * 1000)
                    try? await Task.sleep(for: .milliseconds(rng.int(in: (ms / 2)...max(ms / 2, ms))))
                    continue
                }
                var judgement = request.judge(answer.status, answer.body)
                if judgement.sandboxErrors > 0 { judgement.sandboxDetail = Answer.sandboxErrorDetail(answer.body) }
                recorder.answered(job.loadClass, name: job.name, status: answer.status, ms: ms, judgement: judgement,
                                  at: elapsed)
                if judgement.unexpected != nil || judgement.breach != nil || judgement.sandboxErrors > 0
                    || answer.status >= 500
                {
                    return (true, false, saturated)
                }
                state.merge(judgement.state) { $1 }
                break
            }
        }
        return (true, true, saturated)
    }

    func send(_ r: LoadRequest) async throws -> (status: Int, body: ByteBuffer, retryAfter: Double?) {
        var request = HTTPClientRequest(url: target.url + r.path)
        request.method = r.method
        if let token = options.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        switch r.body {
        case .none: break
        case .bytes(let b):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(b)
        case .chunked(let b):
            request.headers.add(name: "Content-Type", value: "application/json")
            var pieces: [ByteBuffer] = []
            var rest = b
            while let piece = rest.readSlice(length: min(65536, rest.readableBytes)), piece.readableBytes > 0 {
                pieces.append(piece)
            }
            request.body = .stream(pieces.asyncStream, length: .unknown)
        }
        let response = try await client.execute(request, timeout: .seconds(Int64(options.requestTimeout)))
        let body = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), body, response.headers.first(name: "Retry-After").flatMap(Double.init))
    }

    // MARK: sampling

    func sampler() async {
        var next = start
        while !finished.load(ordering: .acquiring) {
            next += .milliseconds(Int(options.sampleEvery * 1000))
            while ContinuousClock.now < next, !finished.load(ordering: .acquiring) {
                try? await Task.sleep(for: .milliseconds(min(200, Int(options.sampleEvery * 1000))))
            }
            if finished.load(ordering: .acquiring) { break }
            await sample()
            if let s = samples.withLock({ $0.last }) {
                let p = recorder.progress
                progress(String(format: "[%4.0f s] answered %d, 429 × %d, failures %d | server rss %.1f MB, fds %d (%d sockets), healthz %@",
                                s.seconds, p.answered, p.saturated, p.failures, Double(s.rssKB) / 1024, s.fds, s.sockets,
                                s.healthzMs.map { String(format: "%.1f ms", $0) } ?? "no answer"))
            }
        }
    }

    func sample() async {
        let seconds = elapsed
        let healthz = await healthzMs()
        let p = recorder.progress
        guard let r = ProcessSampler.read(pid: target.pid) else { return }
        samples.withLock {
            $0.append(ProcessSample(seconds: seconds, rssKB: r.rssKB, fds: r.fds, sockets: r.sockets, threads: r.threads,
                                    descendants: r.descendants, descendantsRssKB: r.descendantsRssKB,
                                    answered: p.answered, saturated: p.saturated, healthzMs: healthz))
        }
    }

    func healthzMs() async -> Double? {
        let t0 = ContinuousClock.now
        do {
            let response = try await client.execute(HTTPClientRequest(url: target.url + "/healthz"), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status == .ok ? (ContinuousClock.now - t0).seconds * 1000 : nil
        } catch {
            return nil
        }
    }

    // MARK: report

    func report() -> LoadReport {
        let snap = recorder.snapshot()
        let samples = self.samples.withLock { $0 }
        let healthz = samples.compactMap(\.healthzMs).sorted()
        let intact = (try? String(contentsOfFile: secretPath, encoding: .utf8)) == secret
        var report = LoadReport(
            url: target.url, pid: target.pid, durationSeconds: options.duration, wallSeconds: elapsed,
            concurrency: options.concurrency, attackBurst: options.attackBurst, attackEverySeconds: options.attackEvery,
            seed: options.seed, languages: workload.context.languages,
            classes: snap.classes.map { LoadReport.Row(loadClass: $0.0.rawValue, counts: $0.1) }, total: snap.total,
            bursts: bursts.withLock { $0 }, samples: samples,
            flatness: LoadReport.flatness(samples, warmup: options.warmupSeconds),
            healthzP50Ms: percentile(healthz, 0.5), healthzP99Ms: percentile(healthz, 0.99), incidents: snap.incidents,
            incidentCount: snap.incidentCount, hostFileIntact: intact, serverAlive: kill(target.pid, 0) == 0 || errno == EPERM,
            notes: [])
        report.failures = report.checkFailures()
        report.passed = report.failures.isEmpty
        return report
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence (for a streamed request body).
    var asyncStream: AsyncStream<Element> {
        AsyncStream { c in
            for e in self { c.yield(e) }
            c.finish()
        }
    }
}
