import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct BenchRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Benchmark the reward-model encoder.")

    func run() async throws {
        throw ValidationError("'rm' is not implemented yet")
    }
}
