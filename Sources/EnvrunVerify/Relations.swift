import Foundation

/// Equations and inequalities.
extension Comparer {
    /// `lhs - rhs` of a two-sided relation.
    static func difference(_ l: Expr, _ r: Expr) -> Expr { .sum([l, .negate(r)]) }

    func relations(_ xs: [Expr], _ xo: [Expr.Relation], _ ys: [Expr], _ yo: [Expr.Relation],
                   depth: Int) throws(VerifyFailure) -> Tri {
        // Inequalities in one variable: compare as intervals.
        if let ix = Comparer.interval(xs, xo), let iy = Comparer.interval(ys, yo) {
            return try equal(ix, iy, depth: depth)
        }
        guard xo.count == 1, yo.count == 1 else {
            return xo == yo ? try sameSequence(xs, ys, depth: depth) : .no
        }
        var (l1, r1, o1) = (xs[0], xs[1], xo[0])
        let (l2, r2, o2) = (ys[0], ys[1], yo[0])
        // A labelled value (`f(2) = 9`, `\frac{PM}{MQ} = …`, `\angle ABC = …`, `A^TA = M`) is the same only with
        // the same label: never scaled (`f(6) = 27` is not `f(2) = 9`), never cancelled (PN/NQ is not PM/MQ).
        if o1 == .eq, o2 == .eq, Comparer.isLabel(l1) || Comparer.isLabel(l2) {
            return l1 == l2 ? try equal(r1, r2, depth: depth) : .no
        }
        guard l1.isScalar, r1.isScalar, l2.isScalar, r2.isScalar else {
            guard o1 == o2 else { return .no }
            return try sameSequence(xs, ys, depth: depth)
        }
        if o1 == .eq, o2 == .eq, let renamed = try renamedDefinition(l1, r1, l2, r2, depth: depth) { return renamed }
        // Same variable on the left: compare the right sides (`x = 3` vs `x = 3.0`).
        if o1 == o2, case .variable(let v1) = l1, case .variable(let v2) = l2, v1 == v2,
            !r1.freeVariables.contains(v1), !r2.freeVariables.contains(v2) {
            return try equal(r1, r2, depth: depth)
        }
        if o1 == .eq || o1 == .ne {
            guard o2 == o1 else { return .no }
            return try scalars.proportional(Comparer.difference(l1, r1), Comparer.difference(l2, r2), positive: false)
        }
        // Inequalities: orient both as `f > 0` / `f >= 0` and compare up to a positive factor.
        if o1.flipped == o2 { (l1, r1, o1) = (r1, l1, o2) }
        guard o1 == o2 else { return .no }
        return try scalars.proportional(Comparer.difference(l1, r1), Comparer.difference(l2, r2), positive: true)
    }

    /// A relation against a plain value: `x = 3` vs `3`, `y = 2x+1` vs `2x+1`, `x > 3` vs `(3, \infty)`.
    func relationVersusValue(_ xs: [Expr], _ xo: [Expr.Relation], _ v: Expr, depth: Int) throws(VerifyFailure) -> Tri {
        if let iv = Comparer.interval(xs, xo) { return try equal(iv, v, depth: depth) }
        if let last = try chainValue(xs, xo, depth: depth) { return try equal(last, v, depth: depth) }
        guard xo == [.eq] else { return .no }
        let (l, r) = (xs[0], xs[1])
        if Comparer.isUnknownName(l), !r.freeVariables.isSuperset(of: l.freeVariables) || r.freeVariables.isEmpty {
            return try equal(r, v, depth: depth)
        }
        if Comparer.isUnknownName(r), l.freeVariables.isEmpty { return try equal(l, v, depth: depth) }
        return .no
    }

    /// The value a worked chain ends on: `1 - \frac14 = \frac34`, `m = \frac{1-3}{4} = -\frac12`, `M = N` for
    /// constant matrices — equalities whose sides (after a leading name) are constants that agree with each
    /// other; nil for anything else (a chain whose steps disagree states no value).
    func chainValue(_ xs: [Expr], _ xo: [Expr.Relation], depth: Int) throws(VerifyFailure) -> Expr? {
        guard xo.allSatisfy({ $0 == .eq }), xs.count >= 2 else { return nil }
        let named = Comparer.isUnknownName(xs[0]) && xs.count >= 3
        let values = named ? Array(xs.dropFirst()) : xs
        guard values.allSatisfy({ $0.freeVariables.isEmpty }) else { return nil }
        for k in 1..<values.count where try equal(values[k - 1], values[k], depth: depth) != .yes { return nil }
        return values.last
    }

    /// `f(x) = …` against `f(t) = …`, `a_n = …` against `a_k = …`: the same definition with its argument
    /// renamed (a bound variable). The right sides are compared with the argument renamed back; nil when the
    /// two are not definitions of the same function with the same number of arguments.
    func renamedDefinition(_ l1: Expr, _ r1: Expr, _ l2: Expr, _ r2: Expr, depth: Int) throws(VerifyFailure) -> Tri? {
        guard let (f1, a1) = Comparer.definition(l1), let (f2, a2) = Comparer.definition(l2), f1 == f2,
            a1.count == a2.count, a1 != a2 else { return nil }
        // Renaming onto a name the other side already uses would capture it.
        let others = r2.freeVariables.subtracting(a2)
        guard others.isDisjoint(with: a1) else { return nil }
        return try equal(r1, r2.renaming(Dictionary(uniqueKeysWithValues: zip(a2, a1))), depth: depth)
    }

    /// Made of names only: a variable, or products and powers of names (`PM`, `A^T A`).
    static func isNames(_ e: Expr) -> Bool {
        switch e {
        case .variable: return true
        case .product(let xs): return xs.allSatisfy(isNames)
        case .power(let a, let b): return isNames(a) && isNames(b)
        default: return false
        }
    }

    /// A label that names one quantity: a ratio of names, a function's value at a number, a product with a
    /// power of a name (`A^TA`), an angle.
    static func isLabel(_ e: Expr) -> Bool {
        let names = isNames
        switch e {
        case .quotient(let a, let b): return names(a) && names(b)
        case .product(let xs):
            if xs.count == 2, case .variable = xs[0], case .number(_, decimal: false) = xs[1] { return true }
            return names(e) && xs.contains { if case .power = $0 { return true } else { return false } }
        case .variable(let v): return v.hasPrefix("angle")
        default: return false
        }
    }

    /// The function name and argument names of `f(x)`, `f(x, y)` or `a_n`.
    static func definition(_ e: Expr) -> (String, [String])? {
        switch e {
        case .product(let xs) where xs.count == 2:
            let f: String
            switch xs[0] {
            case .variable(let name): f = name
            case .power(.variable(let name), let e): f = "\(name)^\(e)"  // `f^{-1}(x)`
            default: return nil
            }
            switch xs[1] {
            case .variable(let x): return (f, [x])
            case .tuple(let args):
                var names: [String] = []
                for a in args { guard case .variable(let x) = a else { return nil }; names.append(x) }
                return Set(names).count == names.count ? (f, names) : nil
            default: return nil
            }
        case .variable(let v):
            guard let bar = v.firstIndex(of: "_") else { return nil }
            let index = String(v[v.index(after: bar)...]).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            guard index.count == 1, index.first!.isLetter else { return nil }
            return (String(v[..<bar]), [index])
        default: return nil
        }
    }

    /// A lone variable, or a tuple of variables such as `(x, y)`; also a label made of names, such as a
    /// ratio of lengths or areas (`\frac{PM}{MQ}`, `S_{ABC}:S`), whose value the answer may give alone.
    static func isUnknownName(_ e: Expr) -> Bool {
        let names = isNames
        switch e {
        case .quotient(let a, let b): return names(a) && names(b)
        case .product(let xs) where xs.count == 2 && !names(e):
            // `f(2) = 9`: a function's value at a point.
            if case .variable = xs[0], case .number(_, decimal: false) = xs[1] { return true }
            return false
        case .product(let xs) where xs.count > 2 || xs.contains(where: { if case .power = $0 { return true } else { return false } }):
            return names(e)
        case .variable: return true
        case .tuple(let xs): return xs.allSatisfy { if case .variable = $0 { return true } else { return false } }
        case .function(_, let args): return args.count == 1 && isUnknownName(args[0])  // f(x) = …
        case .product(let xs): return xs.count == 2 && isUnknownName(xs[0]) && isUnknownName(xs[1])
        default: return false
        }
    }

    /// `x > 3`, `3 < x`, `1 < x <= 2` as an interval; nil when it is not of that shape.
    static func interval(_ xs: [Expr], _ ops: [Expr.Relation]) -> Expr? {
        let inf = Expr.constant(.infinity), ninf = Expr.negate(.constant(.infinity))
        func isVar(_ e: Expr) -> Bool { if case .variable = e { return true } else { return false } }
        if ops.count == 1, ops[0] != .eq, ops[0] != .ne, let iv = absInterval(xs, ops[0]) { return iv }
        if ops == [.ne] {
            // `x \neq 2`: (-∞, 2) ∪ (2, ∞).
            let (l, r) = isVar(xs[0]) ? (xs[0], xs[1]) : (xs[1], xs[0])
            guard isVar(l), r.freeVariables.isEmpty else { return nil }
            return .union([.interval(ninf, r, leftClosed: false, rightClosed: false),
                           .interval(r, inf, leftClosed: false, rightClosed: false)])
        }
        if ops.count == 1, ops[0] != .eq, ops[0] != .ne {
            var (l, r, o) = (xs[0], xs[1], ops[0])
            if isVar(r), !isVar(l) { (l, r, o) = (r, l, o.flipped) }
            guard isVar(l), r.freeVariables.isEmpty else { return nil }
            switch o {
            case .lt: return .interval(ninf, r, leftClosed: false, rightClosed: false)
            case .le: return .interval(ninf, r, leftClosed: false, rightClosed: true)
            case .gt: return .interval(r, inf, leftClosed: false, rightClosed: false)
            case .ge: return .interval(r, inf, leftClosed: true, rightClosed: false)
            default: return nil
            }
        }
        if ops.count == 2, xs[0].freeVariables.isEmpty, xs[2].freeVariables.isEmpty,
            let center = absCenter(xs[1])
        {
            // `a <= |x - c| <= b` (a >= 0): [c - b, c - a] ∪ [c + a, c + b].
            let up = ops.allSatisfy { $0 == .lt || $0 == .le }
            let down = ops.allSatisfy { $0 == .gt || $0 == .ge }
            guard up || down else { return nil }
            let (a, b) = up ? (xs[0], xs[2]) : (xs[2], xs[0])
            let inner = up ? ops[0] == .le : ops[1] == .ge, outer = up ? ops[1] == .le : ops[0] == .ge
            return .union([
                .interval(.sum([center, .negate(b)]), .sum([center, .negate(a)]), leftClosed: outer, rightClosed: inner),
                .interval(.sum([center, a]), .sum([center, b]), leftClosed: inner, rightClosed: outer),
            ])
        }
        if ops.count == 2, isVar(xs[1]), xs[0].freeVariables.isEmpty, xs[2].freeVariables.isEmpty {
            let up = ops.allSatisfy { $0 == .lt || $0 == .le }
            let down = ops.allSatisfy { $0 == .gt || $0 == .ge }
            if up { return .interval(xs[0], xs[2], leftClosed: ops[0] == .le, rightClosed: ops[1] == .le) }
            if down { return .interval(xs[2], xs[0], leftClosed: ops[1] == .ge, rightClosed: ops[0] == .ge) }
        }
        return nil
    }

    /// `|x - a| < c` is (a - c, a + c); `|x - a| > c` is (-∞, a - c) ∪ (a + c, ∞). nil for other shapes.
    static func absInterval(_ xs: [Expr], _ op: Expr.Relation) -> Expr? {
        var (l, r, o) = (xs[0], xs[1], op)
        if case .function(.abs, _) = r { (l, r, o) = (r, l, o.flipped) }
        guard r.freeVariables.isEmpty, let center = absCenter(l) else { return nil }
        let lo = Expr.sum([center, .negate(r)]), hi = Expr.sum([center, r])
        let inf = Expr.constant(.infinity), ninf = Expr.negate(.constant(.infinity))
        switch o {
        case .lt: return .interval(lo, hi, leftClosed: false, rightClosed: false)
        case .le: return .interval(lo, hi, leftClosed: true, rightClosed: true)
        case .gt: return .union([.interval(ninf, lo, leftClosed: false, rightClosed: false),
                                 .interval(hi, inf, leftClosed: false, rightClosed: false)])
        case .ge: return .union([.interval(ninf, lo, leftClosed: false, rightClosed: true),
                                 .interval(hi, inf, leftClosed: true, rightClosed: false)])
        default: return nil
        }
    }

    /// `c` of `|x - c|` (`|x|`: 0); nil for other shapes.
    static func absCenter(_ e: Expr) -> Expr? {
        guard case .function(.abs, let args) = e, args.count == 1 else { return nil }
        switch args[0] {
        case .variable: return .int(0)
        case .sum(let ts) where ts.count == 2:
            guard case .variable = ts[0], ts[1].freeVariables.isEmpty else { return nil }
            return .negate(ts[1])
        default: return nil
        }
    }
}
