/// Structural comparison: sets (order-insensitive), tuples and intervals (order-sensitive, open/closed matters),
/// equations (either orientation, any non-zero multiple), inequalities, matrices, text; scalars go to
/// `ScalarComparer`.
struct Comparer {
    let budget: Budget
    let options: VerifyOptions
    var scalars: ScalarComparer { ScalarComparer(budget: budget, options: options) }

    func equal(_ a: Expr, _ b: Expr, depth: Int = 0) throws(VerifyFailure) -> Tri {
        try budget.charge()
        if depth > budget.limits.maxDepth { throw .limit("comparison nested too deeply") }
        // The same tree is the same answer, whatever it contains (also undefined or unevaluable parts).
        if a == b { return .yes }
        let d = depth + 1
        if let m = a.scaledMatrix { return try equal(m, b, depth: d) }
        if let m = b.scaledMatrix { return try equal(a, m, depth: d) }
        if let t = try assignmentsVersusValues(a, b, depth: d) { return t }
        if let t = try assignmentsVersusValues(b, a, depth: d) { return t }
        switch (a, b) {
        case (.text(let x), .text(let y)): return Comparer.normalizeText(x) == Comparer.normalizeText(y) ? .yes : .no
        case (.text(let x), .variable(let v)), (.variable(let v), .text(let x)):
            // `\text{(C)}` against `C`.
            return Comparer.normalizeText(x) == v.lowercased() ? .yes : .no
        case (.text, _), (_, .text): return .no

        case (.relation(let xs, let xo), .relation(let ys, let yo)):
            return try relations(xs, xo, ys, yo, depth: d)
        case (.relation(let xs, let xo), _): return try relationVersusValue(xs, xo, b, depth: d)
        case (_, .relation(let ys, let yo)): return try relationVersusValue(ys, yo, a, depth: d)

        case (.set(let xs), .set(let ys)), (.union(let xs), .union(let ys)), (.set(let xs), .union(let ys)),
            (.union(let xs), .set(let ys)):
            return try sameCollection(xs, ys, depth: d)
        case (.set(let xs), _) where xs.count == 1: return try equal(xs[0], b, depth: d)
        case (_, .set(let ys)) where ys.count == 1: return try equal(a, ys[0], depth: d)
        case (.set, _), (_, .set): return .no

        case (.tuple(let xs), .tuple(let ys)): return try sameSequence(xs, ys, depth: d)
        case (.interval(let a1, let b1, let l1, let r1), .interval(let a2, let b2, let l2, let r2)):
            guard l1 == l2, r1 == r2 else { return .no }
            return try sameSequence([a1, b1], [a2, b2], depth: d)
        case (.tuple(let xs), .interval(let a2, let b2, false, false)) where xs.count == 2:
            return try sameSequence(xs, [a2, b2], depth: d)
        case (.interval(let a1, let b1, false, false), .tuple(let ys)) where ys.count == 2:
            return try sameSequence([a1, b1], ys, depth: d)
        case (.union(let xs), _) where xs.count == 1: return try equal(xs[0], b, depth: d)
        case (_, .union(let ys)) where ys.count == 1: return try equal(a, ys[0], depth: d)

        case (.matrix(let xr), .matrix(let yr)):
            guard xr.count == yr.count, zip(xr, yr).allSatisfy({ $0.count == $1.count }) else { return .no }
            return try sameSequence(xr.flatMap { $0 }, yr.flatMap { $0 }, depth: d)
        case (.matrix(let xr), .tuple(let ys)), (.tuple(let ys), .matrix(let xr)):
            // A column or row vector against a tuple.
            let flat = xr.flatMap { $0 }
            guard xr.count == 1 || xr.allSatisfy({ $0.count == 1 }), flat.count == ys.count else { return .no }
            return try sameSequence(flat, ys, depth: d)

        case (.percent(let x), .percent(let y)): return try equal(x, y, depth: d)
        case (.percent(let x), _), (_, .percent(let x)):
            // `10\%` against `10` or against `0.1`.
            let other = a.isPercent ? b : a
            if try equal(x, other, depth: d) == .yes { return .yes }
            return try scalars.equal(.quotient(x, .int(100)), other)

        case (.based(let x, let bx), .based(let y, let by)):
            return bx == by && Comparer.digits(x) == Comparer.digits(y) ? .yes : .no
        case (.based(let x, _), .number(let r, false)), (.number(let r, false), .based(let x, _)):
            // `1011_2` against `1011`: the subscript left out.
            return Comparer.digits(x) == Comparer.digits(r.description) ? .yes : .no
        case (.based, _), (_, .based): return .no

        default:
            guard a.isScalar, b.isScalar else { return .no }
            return try scalars.equal(a, b)
        }
    }

    /// `a = 3, b = 1` against bare values, `3, 1` or `(3, 1)`: the values in the order written (`1, 3` is
    /// wrong); nil when `a` is not a list of assignments or `b` not a list of values.
    func assignmentsVersusValues(_ a: Expr, _ b: Expr, depth: Int) throws(VerifyFailure) -> Tri? {
        guard case .set(let xs) = a, let values = Comparer.assignedValues(xs) else { return nil }
        switch b {
        case .tuple(let ys): return try sameSequence(values, ys, depth: depth)
        case .set(let ys) where Comparer.assignedValues(ys) == nil && !ys.contains(where: \.isRelation):
            return try sameSequence(values, ys, depth: depth)
        default: return nil
        }
    }

    /// The values of a list of assignments to distinct variables (`a = 3, b = 1` → [3, 1]); nil otherwise.
    static func assignedValues(_ xs: [Expr]) -> [Expr]? {
        var names: Set<String> = []
        var values: [Expr] = []
        for x in xs {
            guard case .relation(let sides, [.eq]) = x, case .variable(let v) = sides[0], sides[1].freeVariables.isEmpty,
                names.insert(v).inserted else { return nil }
            values.append(sides[1])
        }
        return values.count > 1 ? values : nil
    }

    static func digits(_ s: String) -> String {
        let t = s.uppercased().drop { $0 == "0" }
        return t.isEmpty ? "0" : String(t)
    }

    static func normalizeText(_ s: String) -> String {
        var t = s.lowercased()
        for cmd in ["\\text", "\\mathrm", "\\textbf", "\\mbox", "\\emph"] { t = t.replacingAll(cmd, with: "") }
        let kept = t.unicodeScalars.filter { ($0.properties.isAlphabetic || ($0.value >= 48 && $0.value <= 57)) }
        var r = String(String.UnicodeScalarView(kept))
        if r.hasPrefix("the") && r.count > 3 { r.removeFirst(3) }
        return r
    }

    func sameSequence(_ xs: [Expr], _ ys: [Expr], depth: Int) throws(VerifyFailure) -> Tri {
        guard xs.count == ys.count else { return .no }
        var result = Tri.yes
        for (x, y) in zip(xs, ys) {
            switch try equal(x, y, depth: depth) {
            case .no: return .no
            case .unknown: result = .unknown
            case .yes: break
            }
        }
        return result
    }

    /// Mutual inclusion, so duplicates and order do not matter.
    func sameCollection(_ xs: [Expr], _ ys: [Expr], depth: Int) throws(VerifyFailure) -> Tri {
        if xs.count * ys.count > 4096 { throw .limit("sets too large to compare") }
        var unknown = false
        for (from, to) in [(xs, ys), (ys, xs)] {
            for x in from {
                var found = Tri.no
                for y in to {
                    let r = try equal(x, y, depth: depth)
                    if r == .yes { found = .yes; break }
                    if r == .unknown { found = .unknown }
                }
                if found == .no { return .no }
                if found == .unknown { unknown = true }
            }
        }
        return unknown ? .unknown : .yes
    }
}

extension Expr {
    var isRelation: Bool { if case .relation = self { return true } else { return false } }
    var isText: Bool { if case .text = self { return true } else { return false } }
    var isPercent: Bool { if case .percent = self { return true } else { return false } }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, self.contains(target) else { return self }
        return self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
