import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve rewards over HTTP to RL trainers.")

    func run() async throws {
        throw ValidationError("'serve' is not implemented yet")
    }
}
