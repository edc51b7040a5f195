import EnvrunCore
import EnvrunJudge
import EnvrunRewards
import EnvrunSandbox
import EnvrunTasks
import Foundation
import Logging

/// Builds the real environment and executor for `envrun serve` and `envrun bench serve`, so the CLI
/// holds no logic of its own.
public enum ServerWiring {
    public struct Parts: Sendable {
        public var environment: any EnvrunCore.Environment
        public var executor: any CodeExecutor
        /// Language ids the executor knows, for `/run_code` validation (nil: let the executor decide).
        public var languages: [String]?
        /// Stops the sandbox's warm workers and removes its mounts and cgroups; call once the server
        /// has stopped (a process that dies without it leaves them to the next owner of its lease).
        public var close: @Sendable () async -> Void = {}

        /// Runs `body`, then `close()`, also when `body` throws.
        public func closing<T>(_ body: () async throws -> T) async throws -> T {
            let result: T
            do {
                result = try await body()
            } catch {
                await close()
                throw error
            }
            await close()
            return result
        }
    }

    /// The packs of `packsDirectory` (default: the shipped `Tasks/`) over the sandbox executor. When the
    /// sandbox cannot start (not root, no `Sandbox/`), the server still serves the rule and model rewards;
    /// code runs then answer `sandbox_error` with the reason, and a warning says so at start. A sandbox
    /// that could start but lacks a layer `sandbox` requires (cgroup memory and pids) is an error.
    ///
    /// `judges` are the OpenAI-compatible judges `generative_rm` and `hybrid` packs may name; their metrics
    /// go to `metrics` (the server's registry).
    public static func make(
        packsDirectory: String?, sandbox: SandboxConfiguration = .default, episodes: EpisodeSettings = EpisodeSettings(),
        judges: [JudgeEndpoint] = [], metrics: ServerMetrics? = nil, logger: Logger
    ) async throws -> Parts
    {
        let executor: any CodeExecutor
        var languages: [String]?
        var close: @Sendable () async -> Void = {}
        do {
            let sandbox = try SandboxExecutor(configuration: sandbox, logger: logger)
            languages = sandbox.policy.languages.keys.sorted()
            executor = sandbox
            close = { await sandbox.shutdown() }
        } catch let error as EnvrunError where error.code == .uncontained {
            throw error
        } catch {
            logger.warning("the sandbox is unavailable; code runs will answer sandbox_error", metadata: ["reason": "\(error)"])
            executor = UnavailableExecutor(reason: "\(error)")
        }
        var dependencies = RewardDependencies.live(logger: logger)
        if dependencies.codeJudge == nil { dependencies.codeJudge = judge(executor, logger: logger) }
        do {
            dependencies.judges = try JudgePool(
                endpoints: judges, metrics: JudgeMetrics(factory: metrics?.metricsFactory), logger: logger)
        } catch {
            await close()
            throw error
        }
        for endpoint in judges {
            logger.info("judge \(endpoint.name): \(endpoint.model) at \(endpoint.displayURL)",
                        metadata: ["api_key": "\(endpoint.apiKeyEnv.map { "from $\($0)" } ?? "none")"])
        }
        let environment: PackEnvironment
        do {
            environment = try PackEnvironment(
                directory: packsDirectory.map { URL(fileURLWithPath: $0) }, dependencies: dependencies,
                episodes: episodes, logger: logger)
        } catch {
            await close()
            throw error
        }
        for info in environment.packs() {
            guard let judge = (try? environment.pack(named: info.name))?.manifest.reward.generativeRM?.judge,
                  dependencies.judges.clients[judge] == nil
            else { continue }
            logger.warning(
                "pack \(info.name) names judge \"\(judge)\", which is not configured: its judged items will answer status error",
                metadata: ["hint": "envrun serve --judge-url URL --judge-model NAME, or judges: in --config"])
        }
        return Parts(environment: environment, executor: executor, languages: languages, close: close)
    }

    /// The sandbox judge over the executor; nil (code rewards then answer status error saying so) when
    /// its harness cannot be found.
    static func judge(_ executor: any CodeExecutor, logger: Logger) -> (any CodeJudge)? {
        do {
            return try SandboxJudge(executor: executor, logger: logger)
        } catch {
            logger.warning("the code judge is unavailable; code rewards will answer status error",
                           metadata: ["reason": "\(error)"])
            return nil
        }
    }
}

/// Stands in when the sandbox cannot start: every run is a `sandbox_error` naming why.
struct UnavailableExecutor: CodeExecutor {
    let reason: String
    func run(_ request: ExecRequest) async -> ExecResult {
        ExecResult(verdict: .sandboxError, detail: "the sandbox is unavailable: \(reason)")
    }
}


