import ArgumentParser
import EnvrunCore
import EnvrunRL
import EnvrunRewards
import EnvrunTasks
import Foundation

struct RankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Best-of-N or rejection sampling: score N responses per prompt with the pack's reward source.",
        discussion: """
            Each input line: {"id"?, "pack", "task_id" (or an inline "task"), "responses": [...]}. \
            --mode best writes one line per prompt with the best response, its reward, every reward and \
            the spread (max − min), mean and std. --mode filter writes one line per response whose reward \
            is at or above --threshold (SFT data), each with its prompt's spread. A response whose check \
            failed is left out of the choice and counted in "errors"; a prompt whose every check failed \
            gets a line with "status": "error". A malformed line gets an error line; the rest go on.

              envrun rank --in samples.jsonl > best.jsonl
              envrun rank --in samples.jsonl --mode filter --threshold 1 > sft.jsonl
            """)

    @OptionGroup var packsOption: PackCommand.PacksOption
    @Option(name: .customLong("in"), help: "Input JSONL (default: stdin).") var input: String?
    @Option(help: "best or filter.") var mode = Ranker.Mode.best
    @Option(help: "--mode filter: keep responses with reward ≥ this.") var threshold = 0.5
    @Option(help: "Responses scored at once.") var concurrency = 8

    func run() async throws {
        let text: String
        if let input {
            do { text = try String(contentsOfFile: input, encoding: .utf8) } catch { throw ValidationError("cannot read \(input): \(error.localizedDescription)") }
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let needed = Set(lines.compactMap { try? Ranker.parse($0).pack })
        let all = try PackLibrary.load(directory: packsOption.directory())
        let env = PackEnvironment(packs: all.filter { needed.contains($0.name) }, dependencies: RewardDependencies.live())
        let ranker = Ranker(environment: env, mode: mode, threshold: threshold, concurrency: concurrency)
        var prompts = 0, kept = 0, failed = 0
        for (n, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let out: [[String: Any]]
            do {
                out = await ranker.rank(try Ranker.parse(line))
                prompts += 1
            } catch {
                out = [["line": n + 1, "status": "error", "error": "\(error)"]]
                failed += 1
            }
            for o in out {
                if o["status"] as? String == "ok" { kept += 1 }
                let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
        FileHandle.standardError.write(Data("rank: \(prompts) prompts, \(kept) lines kept, \(failed) malformed lines\n".utf8))
    }
}

extension Ranker.Mode: ExpressibleByArgument {}
