import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run one program in the sandbox.")

    func run() async throws {
        throw ValidationError("'exec' is not implemented yet")
    }
}
