import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check math answers for equivalence.")

    func run() async throws {
        throw ValidationError("'verify' is not implemented yet")
    }
}
