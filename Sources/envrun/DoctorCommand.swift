import ArgumentParser
import EnvrunCore
import EnvrunSandbox
import Foundation

/// `envrun doctor`: which sandbox layers are active on this machine, and why any is missing.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show which sandbox layers are active on this machine and why any is missing.",
        discussion: "Probes each layer, then runs a small program cold and warm through the real executor.")

    @Option(name: .long, help: "The Sandbox/ policy directory (found automatically by default).")
    var sandboxDir: String?

    func run() async throws {
        let report = await SandboxDoctor.run(policyDirectory: sandboxDir.map { URL(fileURLWithPath: $0) })
        for layer in report.layers {
            let mark = layer.active ? "active " : "missing"
            print("\(mark)  \(layer.name.padding(toLength: 20, withPad: " ", startingAt: 0))  \(layer.detail)")
        }
        if !report.healthy { throw ExitCode(1) }
    }
}
