import ArgumentParser
import EnvrunVerify
import Foundation

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check math answers for equivalence (exact where rational, numeric at random points otherwise).",
        discussion: """
            One pair:   envrun verify --gold '\\frac12' --pred 'The answer is $0.5$.' --json
            A file:     envrun verify --jsonl pairs.jsonl > results.jsonl

            --pred may be a whole model response: the answer is its last \\boxed{} (or \\fbox{}), a GSM8K \
            '#### N', the text after "The answer is" / "Final Answer:", the whole response when it is one short \
            line, or else the last number. --gold may be a bare answer or a whole reference solution.

            Status: ok (compared; see equivalent), unparseable (no readable answer in the prediction) or error \
            (unreadable gold, a work limit hit, or undecidable). Every call is bounded by a work budget, so \
            hostile input returns quickly. Exit status 2 when a single check's status is not ok.

            In --jsonl mode each input line is {"gold": …, "pred": …} (an "id" field is copied through) and each \
            output line is the JSON result, in input order; a malformed line gets an error line.
            """)

    @Option(parsing: .unconditional, help: "The reference answer (or a whole reference solution); may start with '-'.")
    var gold: String?

    @Option(parsing: .unconditional, help: "The predicted answer or a whole model response; may start with '-'.")
    var pred: String?

    @Option(help: "Read {\"gold\",\"pred\"} lines from this JSON Lines file ('-' for stdin); write one result per line.")
    var jsonl: String?

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Option(help: "Relative tolerance for answers written with decimals (default: none; see --rounded-decimals).")
    var tolerance: Double?

    @Option(help: "A decimal matches an exact gold when it is the gold correctly rounded with at least this many significant digits (default 4: 0.6667 = 2/3, 0.333 ≠ 1/3); 0 makes decimals exact.")
    var roundedDecimals: Int?

    @Flag(help: "Accept an answer that differs from the gold only in the name of one free variable (g(t) vs g(s)).")
    var renameVariables = false

    @Flag(help: "Use every \\boxed{} of the response as one set answer instead of the last one.")
    var allBoxes = false

    @Flag(help: "Do not fall back to the last number when the response marks no answer.")
    var noLastNumber = false

    func validate() throws {
        if jsonl == nil && (gold == nil || pred == nil) {
            throw ValidationError("give --gold and --pred, or --jsonl FILE")
        }
        if jsonl != nil && (gold != nil || pred != nil) {
            throw ValidationError("--jsonl cannot be combined with --gold/--pred")
        }
        if let t = tolerance, !(t >= 0 && t < 1) { throw ValidationError("--tolerance must be in [0, 1)") }
        if let r = roundedDecimals, r < 0 { throw ValidationError("--rounded-decimals must be 0 (exact) or more") }
    }

    func run() async throws {
        var options = VerifyOptions()
        options.floatTolerance = tolerance
        options.allBoxes = allBoxes
        if let r = roundedDecimals { options.roundedDecimals = r == 0 ? nil : r }
        options.renameVariables = renameVariables
        options.lastNumberFallback = !noLastNumber
        let verifier = MathVerifier(options: options)
        if let path = jsonl {
            try runBatch(path: path, verifier: verifier)
            return
        }
        let r = verifier.verify(gold: gold!, pred: pred!)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print("equivalent: \(r.equivalent)  (status: \(r.status.rawValue))")
            print("gold:       \(r.goldParsed ?? "-")")
            print("pred:       \(r.predParsed ?? "-")")
            if let m = r.message { print("note:       \(m)") }
        }
        if r.status != .ok { throw ExitCode(2) }
    }

    private func runBatch(path: String, verifier: MathVerifier) throws {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read '\(path)'")
            }
            data = d
        }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var out = ""
        out.reserveCapacity(lines.count * 160)
        for (k, line) in lines.enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            out += BatchVerify.resultLine(for: l, lineNumber: k + 1, verifier: verifier)
            out += "\n"
            if out.utf8.count > 1 << 20 {
                FileHandle.standardOutput.write(Data(out.utf8))
                out = ""
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
