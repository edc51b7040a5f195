import EnvrunCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import EnvrunSandbox

/// Keeps every record logged through it, for tests that check what was logged.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }
    let records = Mutex<[Record]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).mapValues { "\($0)" }
        records.withLock { $0.append(Record(level: event.level, message: "\(event.message)", metadata: fields)) }
    }
}

extension SandboxSuites {
    @Suite("sandbox_error is explained") struct SandboxErrorTests {
        @Test("a failed set-up step is a sandbox_error with its step, errno and slot, logged at warning")
        func failureIsExplained() async throws {
            if skipUnlessRoot() { return }
            let handler = RecordingLogHandler()
            let logger = Logger(label: "sandbox-error.test") { _ in handler }
            let ex = try SandboxExecutor(configuration: SandboxConfiguration(slots: 1, warmPool: false), logger: logger)
            // More than the slot's tmpfs holds: writing the files fails with ENOSPC, envrun's step.
            var request = python("print(1)")
            request.files = ["big.bin": String(repeating: "x", count: 80 << 20)]
            let r = await ex.run(request)
            #expect(r.verdict == .sandboxError)
            #expect(r.failure == SandboxFailure(step: "write-files", errno: ENOSPC, slot: 0), "\(String(describing: r.failure))")
            let warnings = handler.records.withLock { $0 }.filter { $0.level >= .warning && $0.message.hasPrefix("sandbox_error") }
            #expect(warnings.count == 1, "\(warnings)")
            #expect(warnings.first?.metadata["step"] == "write-files")
            #expect(warnings.first?.metadata["errno"] == String(ENOSPC))
            #expect(warnings.first?.metadata["slot"] == "0")
            // The slot is fine afterwards.
            #expect(await ex.run(python("print(2)")).stdout == "2\n")
            await ex.shutdown()
        }

        @Test("a step's text is parsed into step and errno; client text never becomes a step name")
        func parsedFromText() {
            #expect(SandboxFailure(text: "pipe: Too many open files") == SandboxFailure(step: "pipe", errno: EMFILE))
            #expect(SandboxFailure(text: "warm worker: settle-fds: Too many open files")
                    == SandboxFailure(step: "warm worker: settle-fds", errno: EMFILE))
            #expect(SandboxFailure(text: "processes survived the run") == SandboxFailure(step: "processes survived the run"))
            #expect(SandboxFailure(text: "writing <script>\"x\": No space left on device").step == "other")
            #expect(SandboxFailure(text: String(repeating: "a", count: 100)).step == "other")
        }
    }
}
