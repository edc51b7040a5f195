/// Pulls the final answer or the code out of a model response, for the rule rewards that need it
/// (`exact`, `regex`, code). Math extraction belongs to `EnvrunVerify`.
public enum AnswerExtraction {
    /// The last `\boxed{...}` (balanced braces), else the text after the last `Answer:` or `####`,
    /// else the last non-empty line. Returns nil for an empty response.
    public static func finalAnswer(_ response: String) -> String? {
        if let boxed = lastBoxed(response) { return boxed.trimmingSpaces() }
        for marker in ["####", "Answer:", "answer:", "ANSWER:"] {
            if let range = response.range(of: marker, options: .backwards) {
                let rest = response[range.upperBound...]
                let line = rest.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
                let trimmed = line.trimmingSpaces()
                if !trimmed.isEmpty { return trimmed }
            }
        }
        let lines = response.split(separator: "\n").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        return lines.last
    }

    /// Content of the last `\boxed{...}` or `\fbox{...}`, honouring nested braces. One pass with a stack of
    /// open braces (scanning ahead from every marker was quadratic: 10 000 nested boxes took minutes).
    public static func lastBoxed(_ text: String) -> String? {
        // Each open brace: where its marker starts (nil for a plain brace) and where its content starts.
        var open: [(marker: String.Index?, content: String.Index)] = []
        var best: (marker: String.Index, content: Range<String.Index>)?
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "\\", let marker = ["\\boxed{", "\\fbox{"].first(where: { text[i...].hasPrefix($0) }) {
                let content = text.index(i, offsetBy: marker.count)
                open.append((i, content))
                i = content
                continue
            }
            if c == "{" {
                open.append((nil, next))
            } else if c == "}", let top = open.popLast(), let marker = top.marker,
                best.map({ marker > $0.marker }) ?? true {
                best = (marker, top.content..<i)
            }
            i = next
        }
        return best.map { String(text[$0.content]) }
    }

    /// The code in a response: the last fenced block that defines `entryPoint` when given, else the last
    /// fenced block, else the whole response (a bare program or a completion).
    public static func code(_ response: String, entryPoint: String? = nil) -> String {
        let blocks = fencedBlocks(response)
        if let entryPoint, let block = blocks.last(where: { definesFunction($0, entryPoint) }) { return block }
        return blocks.last ?? response
    }

    /// Contents of ``` fenced blocks, in order (the info string after the fence is dropped).
    public static func fencedBlocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.hasPrefix("```") {
                if let body = current {
                    blocks.append(body.joined(separator: "\n") + "\n")
                    current = nil
                } else {
                    current = []
                }
            } else if current != nil {
                current!.append(line)
            }
        }
        if let body = current, !body.isEmpty { blocks.append(body.joined(separator: "\n") + "\n") }  // unclosed
        return blocks
    }

    /// True when `code` has a top-level `def name(` (or `async def`).
    public static func definesFunction(_ code: String, _ name: String) -> Bool {
        code.split(separator: "\n").contains { line in
            line.hasPrefix("def \(name)(") || line.hasPrefix("async def \(name)(")
        }
    }

    /// Import lines of a Python prompt (HumanEval stubs import `typing` names the function's signature needs).
    public static func pythonImports(_ code: String) -> [String] {
        code.split(separator: "\n").map(String.init).filter { line in
            line.hasPrefix("import ") || (line.hasPrefix("from ") && line.contains(" import "))
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
