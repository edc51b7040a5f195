import EnvrunCore

/// An arithmetic operation of the `arith` generator.
public enum ArithOperation: String, Sendable, CaseIterable, Equatable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    /// Exact integer division: the generator only emits divisions that come out even.
    case divide = "/"

    var precedence: Int { self == .add || self == .subtract ? 1 : 2 }
}

/// Difficulty parameters of the `arith` generator. Each task draws its nesting depth uniformly from
/// 1...depth, so a pack mixes easy and hard items; operands have 1...digits digits.
public struct ArithParameters: Sendable, Equatable {
    public static let maxDigits = 6
    public static let maxDepth = 4

    public var seed: UInt64 = 1
    public var count: Int = 1000
    public var digits: Int = 2
    public var depth: Int = 2
    public var operations: [ArithOperation] = [.add, .subtract, .multiply]

    public init() {}
}


/// Procedurally generated arithmetic tasks in the spirit of reasoning-gym: seeded, so the same
/// parameters always give the same tasks; answers are exact integers.
public struct ArithGenerator: Sendable {
    public var parameters: ArithParameters
    public init(parameters: ArithParameters) { self.parameters = parameters }

    indirect enum Expr {
        case number(Int)
        case binary(ArithOperation, Expr, Expr, value: Int)

        var value: Int {
            switch self {
            case .number(let n): n
            case .binary(_, _, _, let v): v
            }
        }
    }

    public func generate() throws -> [TaskSpec] {
        let p = parameters
        guard (1...ArithParameters.maxDigits).contains(p.digits), (1...ArithParameters.maxDepth).contains(p.depth),
            !p.operations.isEmpty, p.count > 0
        else {
            throw EnvrunError(.invalidInput, "arith: digits 1-\(ArithParameters.maxDigits), depth 1-\(ArithParameters.maxDepth), at least one operation, count > 0", field: "generator")
        }
        var rng = SplitMix64(seed: p.seed)
        var tasks: [TaskSpec] = []
        tasks.reserveCapacity(p.count)
        let width = String(p.count - 1).count
        for index in 0..<p.count {
            let depth = rng.int(in: 1...p.depth)
            var expr: Expr?
            for _ in 0..<1000 {
                if let e = build(depth: depth, rng: &rng) { expr = e; break }
            }
            guard let expr else {
                throw EnvrunError(.invalidInput, "arith: these parameters overflow 64-bit integers; use fewer digits or less depth", field: "generator")
            }
            let text = render(expr)
            let id = String(repeating: "0", count: max(0, width - String(index).count)) + String(index)
            tasks.append(TaskSpec(
                id: id, prompt: text, answer: String(expr.value),
                metadata: ["depth": String(depth)]))
        }
        return tasks
    }

    /// An expression of exactly `depth` nested operations; nil when a value overflows.
    func build(depth: Int, rng: inout SplitMix64) -> Expr? {
        let maxOperand = Int(pow10(parameters.digits)) - 1
        if depth == 0 { return .number(rng.int(in: 1...maxOperand)) }
        let op = parameters.operations[rng.int(in: 0...(parameters.operations.count - 1))]
        // One side carries the full depth, the other a random smaller one.
        let other = rng.int(in: 0...(depth - 1))
        let deepLeft = rng.int(in: 0...1) == 0
        guard let right = build(depth: deepLeft ? other : depth - 1, rng: &rng) else { return nil }
        if op == .divide {
            guard right.value != 0 else { return nil }
            for _ in 0..<20 {
                guard let left = build(depth: deepLeft ? depth - 1 : other, rng: &rng) else { return nil }
                if left.value % right.value == 0 { return .binary(op, left, right, value: left.value / right.value) }
            }
            // Fall back to the deep side on the left and a literal divisor of it (at most `digits` digits).
            guard let left = build(depth: depth - 1, rng: &rng) else { return nil }
            let divisors = (1...maxOperand).filter { left.value % $0 == 0 }
            let d = divisors[rng.int(in: 0...(divisors.count - 1))]
            return .binary(op, left, .number(d), value: left.value / d)
        }
        guard let left = build(depth: deepLeft ? depth - 1 : other, rng: &rng) else { return nil }
        let (value, overflow): (Int, Bool)
        switch op {
        case .add: (value, overflow) = left.value.addingReportingOverflow(right.value)
        case .subtract: (value, overflow) = left.value.subtractingReportingOverflow(right.value)
        case .multiply: (value, overflow) = left.value.multipliedReportingOverflow(by: right.value)
        case .divide: return nil
        }
        // Keep every intermediate value well inside 64 bits.
        guard !overflow, value.magnitude < 1 << 53 else { return nil }
        return .binary(op, left, right, value: value)
    }

    /// Infix text with only the parentheses the precedence rules need.
    func render(_ e: Expr) -> String {
        switch e {
        case .number(let n):
            return String(n)
        case .binary(let op, let l, let r, _):
            var left = render(l)
            var right = render(r)
            if case .binary(let lop, _, _, _) = l, lop.precedence < op.precedence { left = "(\(left))" }
            if case .binary(let rop, _, _, _) = r,
                rop.precedence < op.precedence
                    || (rop.precedence == op.precedence && (op == .subtract || op == .divide || rop != op))
            {
                right = "(\(right))"
            }
            return "\(left) \(op.rawValue) \(right)"
        }
    }

    func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { acc, _ in acc * 10 } }
}
