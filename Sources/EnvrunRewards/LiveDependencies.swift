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
                return try EncoderRewardModel.load(modelDir: encoderDirectory(forHead: reference), headDir: reference)
            },
            logger: logger)
    }
}

/// The encoder folder for a head in `REPO/Models/NAME`: the default (`$ENVRUN_ENCODER_DIR`, else
/// `.cache/models/...` under the current directory) when that exists, else the same folder under REPO, so a
/// server started from elsewhere still finds the encoder the set-up installed next to the packs.
func encoderDirectory(forHead head: String) -> String? {
    let fm = FileManager.default
    if ProcessInfo.processInfo.environment[EncoderFiles.environmentKey]?.isEmpty == false { return nil }
    if fm.fileExists(atPath: EncoderFiles.defaultDirectory) { return nil }
    let repo = URL(fileURLWithPath: head).deletingLastPathComponent().deletingLastPathComponent()
    let candidate = repo.appendingPathComponent(EncoderFiles.defaultDirectory).path
    return fm.fileExists(atPath: candidate) ? candidate : nil
}
