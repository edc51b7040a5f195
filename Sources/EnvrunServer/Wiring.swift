import EnvrunCore
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
    }

    /// The packs of `packsDirectory` (default: the shipped `Tasks/`) over the sandbox executor.
    public static func make(packsDirectory: String?, logger: Logger) throws -> Parts {
        // Wired to `PackEnvironment` and `SandboxExecutor` once the task packs and the sandbox land.
        throw EnvrunError(.unavailable, "envrun serve needs the task packs and the sandbox, which this build lacks",
                          field: "packs")
    }
}
