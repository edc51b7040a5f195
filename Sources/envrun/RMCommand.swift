import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct RMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Train, evaluate and run the scalar reward model.")

    func run() async throws {
        throw ValidationError("'rm' is not implemented yet")
    }
}
