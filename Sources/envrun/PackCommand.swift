import ArgumentParser
import EnvrunCore
import EnvrunRewards
import EnvrunTasks
import Foundation

struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "List, show, validate, scaffold and summarise task packs.",
        discussion: """
            A pack is a folder of Tasks/ with a pack.yaml manifest and tasks as JSONL (.jsonl or .jsonl.gz). \
            The default packs folder is Tasks/ in the current directory or above it, or next to the envrun \
            executable; ENVRUN_PACKS or --packs DIR chooses another.
            """,
        subcommands: [List.self, Show.self, Validate.self, New.self, Stats.self]
    )

    struct PacksOption: ParsableArguments {
        @Option(name: .long, help: "The packs folder (default: Tasks/ found near the current directory or the executable).")
        var packs: String?

        func directory() throws -> URL {
            if let packs { return URL(fileURLWithPath: packs) }
            guard let dir = PackLibrary.defaultDirectory() else {
                throw ValidationError("no Tasks/ folder found near the current directory or the executable; pass --packs DIR")
            }
            return dir
        }

        /// Loads the named packs (all when `names` is empty); an unknown name is an error listing the known ones.
        func load(_ names: [String]) throws -> [TaskPack] {
            let all = try PackLibrary.load(directory: directory())
            if names.isEmpty { return all }
            return try names.map { name in
                guard let pack = all.first(where: { $0.name == name }) else {
                    throw ValidationError("unknown pack \"\(name)\" (known: \(all.map(\.name).joined(separator: ", ")))")
                }
                return pack
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the packs: name, tasks, verifier, turns, version.")
        @OptionGroup var options: PacksOption
        @Flag(help: "Print the packs as a JSON array (the same objects as GET /v1/packs).") var json = false

        func run() async throws {
            let packs = try options.load([])
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(packs.map(\.info)), as: UTF8.self))
                return
            }
            print("NAME".padding(12) + "TASKS".padding(7) + "VERIFIER".padding(14) + "TURNS".padding(7) + "VERSION")
            for p in packs {
                print(p.name.padding(12) + String(p.tasks.count).padding(7) + p.manifest.reward.verifier.rawValue.padding(14)
                    + String(p.manifest.reward.maxTurns).padding(7) + p.manifest.version)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a pack's manifest and one task as the model sees it.")
        @OptionGroup var options: PacksOption
        @Argument(help: "The pack's name.") var name: String
        @Option(help: "Which task to show (default: the first).") var task: String?

        func run() async throws {
            let pack = try options.load([name])[0]
            let m = pack.manifest
            print("\(m.name) \(m.version) — \(m.description)")
            print("license: \(m.license)\nsource: \(m.source)\nfolder: \(pack.directory.path)")
            print("tasks: \(pack.tasks.count) in \(m.tasksFile)")
            print("reward: \(m.reward.verifier.rawValue)" + (m.reward.verifier.isCode ? ", mode \(m.reward.code.mode.rawValue), language \(m.reward.code.language)" : "")
                + (m.reward.scalarRM.map { ", model \($0.model)" } ?? "") + (m.multiTurn ? ", up to \(m.reward.maxTurns) turns" : ""))
            guard let shown = task.map({ pack.task(id: $0) }) ?? pack.tasks.first else {
                throw ValidationError("pack \(name) has no task \"\(task ?? "")\"")
            }
            print("\n--- task \(shown.id): prompt as the model sees it ---\n\(m.render(prompt: shown.prompt))")
            if let answer = shown.answer { print("--- answer ---\n\(answer)") }
            if let setup = shown.testSetup { print("--- test setup (runs after the program) ---\n\(setup)") }
            if let tests = shown.tests { print("--- tests ---\n\(tests)") }
            if let cases = shown.ioCases { print("--- io cases: \(cases.count) ---") }
        }
    }

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scaffold a new pack, or generate an arithmetic pack.",
            discussion: """
                envrun pack new my-pack --verifier code_tests    writes Tasks/my-pack/{pack.yaml,tasks.jsonl,SOURCE.md}
                envrun pack new arith-hard --generator arith --digits 4 --depth 4 --operations '+,-,*,/' --count 2000
                """)
        @OptionGroup var options: PacksOption
        @Argument(help: "The new pack's name (its folder under the packs folder).") var name: String
        @Option(help: "The verifier of the scaffold: \(VerifierKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var verifier: String = "math"
        @Option(help: "Generate the tasks instead of scaffolding examples (known: arith).") var generator: String?
        @Option(help: "arith: random seed.") var seed: UInt64 = 1
        @Option(help: "arith: number of tasks.") var count: Int = 1000
        @Option(help: "arith: largest number of digits of an operand (1-\(ArithParameters.maxDigits)).") var digits: Int = 2
        @Option(help: "arith: largest nesting depth of operations (1-\(ArithParameters.maxDepth)).") var depth: Int = 2
        @Option(help: "arith: operations to use, comma-separated from + - * /.") var operations: String = "+,-,*"

        func run() async throws {
            guard let kind = VerifierKind(rawValue: verifier) else {
                throw ValidationError("--verifier must be one of \(VerifierKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var params: ArithParameters?
            if let generator {
                guard generator == "arith" else { throw ValidationError("unknown generator \"\(generator)\" (known: arith)") }
                var p = ArithParameters()
                p.seed = seed
                p.count = count
                p.digits = digits
                p.depth = depth
                p.operations = try operations.split(separator: ",").map {
                    let op = $0.trimmingCharacters(in: .whitespaces)
                    guard let o = ArithOperation(rawValue: op) else { throw ValidationError("unknown operation \"\(op)\"") }
                    return o
                }
                params = p
            }
            let root = (try? options.directory()) ?? URL(fileURLWithPath: "Tasks")
            let files = try PackScaffold.create(
                name: name, at: root.appendingPathComponent(name), verifier: kind, generator: params)
            for f in files { print("wrote \(f.path)") }
            print("next: edit them, then run `envrun pack validate \(name)`")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Task counts, prompt lengths, fields and metadata distributions.")
        @OptionGroup var options: PacksOption
        @Argument(help: "Packs to summarise (default: all).") var names: [String] = []

        func run() async throws {
            for pack in try options.load(names) { print(PackStats(pack).render()) }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
