import EnvrunCore
import Foundation

/// One preference: for `prompt`, `chosen` was preferred over `rejected`.
public struct PreferencePair: Codable, Sendable, Equatable {
    public var prompt: String
    public var chosen: String
    public var rejected: String
    public init(prompt: String, chosen: String, rejected: String) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}

public enum PreferencePairs {
    static let assistantMarker = "\n\nAssistant:"

    /// Reads JSONL (optionally gzip-compressed, by `.gz` suffix) of either
    /// `{"prompt", "chosen", "rejected"}` or HH-RLHF's `{"chosen", "rejected"}` full dialogues, which are split
    /// on the last `"\n\nAssistant:"` into the shared prompt and the two final replies.
    /// Pairs whose two replies are identical are dropped (HH-RLHF helpful-base test has two).
    public static func load(_ path: String) throws -> [PreferencePair] {
        let data = try read(path)
        var pairs: [PreferencePair] = []
        var lineNo = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let chosen = obj["chosen"] as? String, let rejected = obj["rejected"] as? String
            else {
                throw EnvrunError(
                    .invalidInput, "line \(lineNo): expected a JSON object with string fields chosen and rejected",
                    field: path)
            }
            let pair: PreferencePair
            if let prompt = obj["prompt"] as? String {
                pair = PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected)
            } else {
                guard let (p1, c) = splitDialogue(chosen), let (p2, r) = splitDialogue(rejected) else {
                    throw EnvrunError(
                        .invalidInput, "line \(lineNo): no prompt field and no \"\\n\\nAssistant:\" turn to split on",
                        field: path)
                }
                // The two dialogues share the prompt; keep the chosen side's copy if they differ in whitespace.
                pair = PreferencePair(prompt: p1.isEmpty ? p2 : p1, chosen: c, rejected: r)
            }
            if pair.chosen == pair.rejected { continue }
            pairs.append(pair)
        }
        return pairs
    }

    /// `(prompt up to and including the last "Assistant:", the final reply)`.
    public static func splitDialogue(_ dialogue: String) -> (String, String)? {
        guard let range = dialogue.range(of: assistantMarker, options: .backwards) else { return nil }
        let prompt = String(dialogue[..<range.upperBound])
        let reply = String(dialogue[range.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        return (prompt, reply)
    }

    static func read(_ path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EnvrunError(.notFound, "pairs file not found", field: path)
        }
        if !path.hasSuffix(".gz") {
            do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw EnvrunError(.io, "cannot read pairs file: \(error.localizedDescription)", field: path)
            }
        }
        let gzip = ["/usr/bin/gzip", "/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let gzip else { throw EnvrunError(.unavailable, "gzip is needed to read .gz pairs", field: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gzip)
        p.arguments = ["-dc", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw EnvrunError(.io, "cannot start gzip: \(error)", field: path) }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw EnvrunError(.invalidInput, "not a valid gzip file", field: path) }
        return data
    }

    /// Deterministic hold-out: every `every`-th pair (index % every == every - 1) is held out.
    public static func holdOut(_ pairs: [PreferencePair], every: Int) -> (train: [PreferencePair], heldOut: [PreferencePair]) {
        guard every > 1 else { return (pairs, []) }
        var train: [PreferencePair] = [], held: [PreferencePair] = []
        for (i, p) in pairs.enumerated() {
            if i % every == every - 1 { held.append(p) } else { train.append(p) }
        }
        return (train, held)
    }
}

