import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Benchmark the server.")

    func run() async throws {
        throw ValidationError("'serve' is not implemented yet")
    }
}
