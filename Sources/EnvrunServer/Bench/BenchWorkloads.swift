import EnvrunCore

/// The requests `envrun bench serve` sends, built from a pack's own tasks: half right, half wrong, so the
/// checks do real work both ways.
public enum BenchWorkloads {
    /// Batches of `batch` math items: even items answer the gold answer in `\boxed{}`, odd ones a wrong number.
    public static func math(_ environment: any EnvrunCore.Environment, pack: String, batch: Int) throws
        -> ServeBench.Workload
    {
        let tasks = try environment.tasks(pack: pack, offset: 0, limit: 1024).filter { $0.answer != nil }
        guard !tasks.isEmpty else {
            throw EnvrunError(.invalidInput, "pack '\(pack)' has no tasks with a gold answer", field: "math-pack")
        }
        let items = tasks.enumerated().map { i, task in
            let answer = i % 2 == 0 ? task.answer! : "-987654321"
            return ScoreItem(pack: pack, taskID: task.id,
                             response: "Let me work through this step by step. The answer is \\boxed{\(answer)}.")
        }
        return .init(name: "math (\(pack))", batches: chunk(items, batch))
    }

    /// Batches of `batch` code items: even items are the reference solution, odd ones a program that
    /// defines the entry point but returns nothing.
    public static func code(_ environment: any EnvrunCore.Environment, pack: String, batch: Int) throws
        -> ServeBench.Workload
    {
        let tasks = try environment.tasks(pack: pack, offset: 0, limit: 256).filter { $0.reference != nil }
        guard !tasks.isEmpty else {
            throw EnvrunError(.invalidInput, "pack '\(pack)' has no tasks with a reference solution", field: "code-pack")
        }
        let items = tasks.prefix(64).enumerated().map { i, task in
            let program = i % 2 == 0
                ? task.reference!
                : "def \(task.entryPoint ?? "solution")(*args, **kwargs):\n    return None\n"
            return ScoreItem(pack: pack, taskID: task.id, response: "```python\n\(program)\n```")
        }
        return .init(name: "code (\(pack))", batches: chunk(Array(items), batch))
    }

    /// Splits into full batches, wrapping around so the last batch is full too.
    static func chunk(_ items: [ScoreItem], _ size: Int) -> [[ScoreItem]] {
        let count = max(1, (items.count + size - 1) / size)
        return (0..<count).map { b in (0..<size).map { items[(b * size + $0) % items.count] } }
    }
}
