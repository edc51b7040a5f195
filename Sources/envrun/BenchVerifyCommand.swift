import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct BenchVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Benchmark the math verifier.")

    func run() async throws {
        throw ValidationError("'verify' is not implemented yet")
    }
}
