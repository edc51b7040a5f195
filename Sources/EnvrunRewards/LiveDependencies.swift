import EnvrunCore
import EnvrunVerify
import Logging

extension RewardDependencies {
    /// The real implementations: the sandbox judge (`EnvrunSandbox`), the scalar RM loader (`EnvrunRM`)
    /// and `EnvrunVerify.MathVerifier`. What is not available on this build is left nil, and the
    /// rewards that need it answer status `error` saying so.
    public static func live(logger: Logger = Logger(label: "envrun.rewards")) -> RewardDependencies {
        RewardDependencies(codeJudge: nil, scalarRMFactory: nil, logger: logger)
    }
}
