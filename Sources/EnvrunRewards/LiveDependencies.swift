import EnvrunCore
import EnvrunRM
import EnvrunVerify
import Foundation
import Logging

extension RewardDependencies {
    /// The real implementations: `EnvrunVerify.MathVerifier`, the local scalar RM
    /// (`EnvrunRM.EncoderRewardModel`, loaded from the pack's head directory on first use) and the sandbox
    /// judge. What this build lacks is left nil, and the rewards that need it answer status `error` saying so.
    public static func live(
        codeJudge: (any CodeJudge)? = nil, logger: Logger = Logger(label: "envrun.rewards")
    ) -> RewardDependencies {
        RewardDependencies(
            codeJudge: codeJudge,
            scalarRMFactory: { reference in
                guard !reference.contains("://") else {
                    throw EnvrunError(.unavailable, "remote reward models are not supported by packs yet: \(reference)", field: "model")
                }
                logger.debug("loading reward model", metadata: ["head": "\(reference)"])
                return try EncoderRewardModel.load(headDir: reference)
            },
            logger: logger)
    }
}
