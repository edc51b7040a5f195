import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct BenchExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Benchmark the executor.")

    func run() async throws {
        throw ValidationError("'exec' is not implemented yet")
    }
}
