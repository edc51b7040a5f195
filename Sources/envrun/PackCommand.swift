import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pack", abstract: "List, show, validate and scaffold task packs.")

    func run() async throws {
        throw ValidationError("'pack' is not implemented yet")
    }
}
