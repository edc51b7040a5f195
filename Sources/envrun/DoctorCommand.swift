import ArgumentParser

// Placeholder until its issue lands: fails loudly rather than pretending to work.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Show which sandbox layers are active on this machine.")

    func run() async throws {
        throw ValidationError("'doctor' is not implemented yet")
    }
}
