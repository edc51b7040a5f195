import ArgumentParser

/// Thin entry point: one small file per subcommand; the work lives in the library targets.
@main
struct Envrun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envrun",
        abstract: "Reward environments for RL on language models: sandboxed code, math checks, reward models.",
        discussion: """
            Start a reward server for a trainer:   envrun serve
            Run one program in the sandbox:        envrun exec --lang python prog.py --json
            Check a math answer:                   envrun verify --gold '\\frac12' --pred '0.5'
            See which sandbox layers are active:   envrun doctor
            """,
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, ExecCommand.self, VerifyCommand.self, PackCommand.self, RMCommand.self,
            DoctorCommand.self, BenchCommand.self, GRMCommand.self, TrainCommand.self, PlotCommand.self, RankCommand.self,
        ]
    )
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print side-by-side figures and ratios measured in one run.",
        subcommands: [
            BenchExecCommand.self, BenchVerifyCommand.self, BenchRMCommand.self, BenchServeCommand.self,
            BenchLoadCommand.self, BenchGRMCommand.self, BenchTrainCommand.self, BenchJudgeCommand.self,
        ]
    )
}
