import AsyncHTTPClient
import EnvrunCore
import EnvrunTasks
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

extension LoadBench {
    /// Which server the bench drives.
    public enum Server: Sendable {
        /// Start `envrun serve` from `executable` on 127.0.0.1 with `--port 0` and `extra` flags; stop it
        /// with SIGTERM at the end. `log`: file for its whole log.
        case start(executable: String, extra: [String], log: String?)
        /// A server already running on loopback.
        case existing(Target)
    }

    /// Everything `envrun bench load` does: loads the packs, starts (or takes) the server, plants the
    /// host file the attacks aim at, keeps the languages whose probe program runs, runs the load, stops
    /// the server it started. The report's failures include the server's exit status.
    public static func session(server: Server, packsDirectory: String?, languages: [String], maxBodyBytes: Int,
                               options: Options, progress: @escaping @Sendable (String) -> Void) async throws
        -> LoadReport
    {
        guard let packsURL = packsDirectory.map({ URL(fileURLWithPath: $0) }) ?? PackLibrary.defaultDirectory() else {
            throw EnvrunError(.notFound, "no Tasks/ folder found; give --packs", field: "packs")
        }
        let packs = try PackLibrary.load(directory: packsURL)

        let child: ServeChild?
        let target: Target
        switch server {
        case .start(let executable, let extra, let log):
            progress("starting \(executable) serve --host 127.0.0.1 --port 0 --packs \(packsURL.path) \(extra.joined(separator: " "))")
            let c = try await ServeChild.start(executable: executable, packs: packsURL.path, extra: extra, logPath: log)
            child = c
            target = try Target(url: c.url, pid: c.pid)
        case .existing(let t):
            child = nil
            target = t
        }
        do {
            try await waitHealthy(target, token: options.token)
            // Outside /tmp and /work, which the sandbox has of its own: a host path the job must not reach.
            let secretDirectory = FileManager.default.fileExists(atPath: "/var/tmp") ? "/var/tmp/" : NSTemporaryDirectory()
            let secretPath = secretDirectory + "envrun-load-secret-\(getpid())"
            let secret = "envrun-load-secret-\(UInt64.random(in: 1...UInt64.max))"
            try secret.write(toFile: secretPath, atomically: false, encoding: .utf8)
            chmod(secretPath, 0o644)
            defer { unlink(secretPath) }

            let (kept, notes) = await probe(target, languages: languages, token: options.token)
            guard !kept.isEmpty else {
                throw EnvrunError(.internal, "no language ran its probe program: \(notes.joined(separator: "; "))", field: "languages")
            }
            let workload = try LoadWorkload(
                packs: packs,
                context: .init(port: target.port, languages: kept, maxBodyBytes: maxBodyBytes, secretPath: secretPath,
                               secret: secret))
            progress("driving \(target.url) (pid \(target.pid)) for \(Int(options.duration)) s from \(options.concurrency) clients; "
                         + "languages \(kept.joined(separator: ", ")); episodes on \(workload.episodePack)")
            var report = try await run(target: target, workload: workload, options: options, secretPath: secretPath,
                                       secret: secret, progress: progress)
            report.notes += notes
            if let child {
                report.serverExitStatus = child.stop() ?? -9
                let log = child.logSummary
                report.serverWarnings = log.warnings
                report.serverLogTail = log.tail
            }
            report.failures = report.checkFailures()
            report.passed = report.failures.isEmpty
            return report
        } catch {
            child?.stop()
            throw error
        }
    }

    /// Waits up to a minute for `GET /healthz` to answer 200.
    static func waitHealthy(_ target: Target, token: String?) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var last = "no answer"
        for _ in 0..<600 {
            do {
                let response = try await client.execute(HTTPClientRequest(url: target.url + "/healthz"), timeout: .seconds(5))
                _ = try await response.body.collect(upTo: 1 << 20)
                if response.status == .ok {
                    try? await client.shutdown()
                    return
                }
                last = "\(response.status)"
            } catch {
                last = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await client.shutdown()
        throw EnvrunError(.internal, "\(target.url)/healthz did not answer 200 within a minute (\(last))", field: "url")
    }

    /// Runs each language's probe program once; keeps those that answer `Success` with the right output.
    static func probe(_ target: Target, languages: [String], token: String?) async -> (kept: [String], notes: [String]) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var kept: [String] = [], notes: [String] = []
        for language in languages {
            guard let program = LoadWorkload.programs[language] else {
                notes.append("\(language): the bench has no program for it; left out")
                continue
            }
            var request = HTTPClientRequest(url: target.url + "/run_code")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let body = RunCodeRequest(code: program.ok, language: language, stdin: "10\n")
            request.body = .bytes(ByteBuffer(data: (try? JSONEncoder().encode(body)) ?? Data()))
            do {
                let response = try await client.execute(request, timeout: .seconds(120))
                let bytes = try await response.body.collect(upTo: 16 << 20)
                if response.status == .ok, let r = Answer.decode(RunCodeResponse.self, bytes), r.status == "Success",
                   r.runResult?.stdout == "285\n"
                {
                    kept.append(language)
                } else {
                    notes.append("\(language): left out, its probe answered \(response.status.code) \(Answer.quote(bytes))")
                }
            } catch {
                notes.append("\(language): left out, its probe got no answer: \(error)")
            }
        }
        try? await client.shutdown()
        return (kept, notes)
    }
}
