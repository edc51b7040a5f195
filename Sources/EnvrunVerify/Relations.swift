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
        guard l1.isScalar, r1.isScalar, l2.isScalar, r2.isScalar else {
            guard o1 == o2 else { return .no }
            return try sameSequence(xs, ys, depth: depth)
        }
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
        guard xo == [.eq] else { return .no }
        let (l, r) = (xs[0], xs[1])
        if Comparer.isUnknownName(l), !r.freeVariables.isSuperset(of: l.freeVariables) || r.freeVariables.isEmpty {
            return try equal(r, v, depth: depth)
        }
        if Comparer.isUnknownName(r), l.freeVariables.isEmpty { return try equal(l, v, depth: depth) }
        return .no
    }

    /// A lone variable, or a tuple of variables such as `(x, y)`.
    static func isUnknownName(_ e: Expr) -> Bool {
        switch e {
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
        guard case .function(.abs, let args) = l, r.freeVariables.isEmpty else { return nil }
        let center: Expr
        switch args[0] {
        case .variable: center = .int(0)
        case .sum(let ts) where ts.count == 2:
            guard case .variable = ts[0], ts[1].freeVariables.isEmpty else { return nil }
            center = .negate(ts[1])
        default: return nil
        }
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
}
