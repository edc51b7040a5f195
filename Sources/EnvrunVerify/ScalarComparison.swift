import EnvrunCore
import BigInt

/// Three-valued answer of a comparison.
enum Tri: Sendable {
    case yes, no, unknown
}

extension SplitMix64 {
    /// The verifier's draw (modulo): kept as it is so the sample points, and so every verdict, stay the same.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// Compares scalar expressions: exactly where the values are rational, else numerically at seeded random
/// points, skipping points where either side is undefined.
struct ScalarComparer {
    let budget: Budget
    let options: VerifyOptions

    /// Relative tolerance of the numeric comparison of symbolic expressions.
    static let relTolerance = 1e-9
    /// A decimal answer against a value that is not exactly rational must agree to about double precision:
    /// `0.5` vs `\sin(\pi/6)` holds, `2.718281828` vs `e` does not (unless `floatTolerance` says so).
    static let decimalTolerance = 1e-13

    /// Random points for the variables: `count` exact rationals p/q in [1, 4] with small denominators (where
    /// roots and logarithms of a variable are defined), then `count` more in (-1, 1) and [-4, -1], which the
    /// comparisons reach only when the earlier points were outside a side's domain (`\arcsin x`, `\sqrt{-x}`).
    func points(for vars: [String], count: Int, seed: UInt64) -> [[String: Rational]] {
        var rng = SplitMix64(seed: seed)
        return (0..<(2 * count)).map { k in
            var env: [String: Rational] = [:]
            for v in vars {
                let q = rng.int(3...13)
                let p: Int
                if k < count {
                    p = rng.int(q...4 * q)
                } else if k < count + count / 2 {
                    p = rng.int(-(q - 1)...(q - 1))
                } else {
                    p = rng.int(-4 * q...(-q))
                }
                env[v] = Rational(BigInt(p), BigInt(q))
            }
            return env
        }
    }

    struct Sample {
        var exact: CRational?
        var numeric: Complex
        var scale: Double
    }

    /// Both sides at one point; nil when either is undefined there.
    func sample(_ a: Expr, _ b: Expr, env: [String: Rational]) throws(VerifyFailure) -> (Sample, Sample)? {
        let exact = ExactEvaluator(budget: budget, env: env)
        let ea = try exact.eval(a), eb = try exact.eval(b)
        if ea.isUndefined || eb.isUndefined { return nil }
        var cenv: [String: Complex] = [:]
        for (k, v) in env { cenv[k] = Complex(v.doubleValue) }
        func one(_ e: Expr, _ ev: ExactValue) throws(VerifyFailure) -> Sample? {
            if case .value(let c) = ev { return Sample(exact: c, numeric: c.complexValue, scale: 0) }
            var ne = NumericEvaluator(budget: budget, env: cenv)
            guard let v = try ne.eval(e) else { return nil }
            return Sample(exact: nil, numeric: v, scale: ne.scale)
        }
        guard let sa = try one(a, ea), let sb = try one(b, eb) else { return nil }
        return (sa, sb)
    }

    func close(_ x: Complex, _ y: Complex, scale: Double, tolerance: Double?) -> Bool {
        let d = (x - y).magnitude
        let m = max(x.magnitude, y.magnitude)
        if let t = tolerance { return d <= t * max(m, 1e-300) || d <= 1e-15 * scale }
        return d <= ScalarComparer.relTolerance * m + 1e-12 * scale
    }

    func same(_ sa: Sample, _ sb: Sample, tolerance: Double?) -> Bool {
        if let x = sa.exact, let y = sb.exact, tolerance == nil || tolerance == ScalarComparer.decimalTolerance {
            return x == y
        }
        return close(sa.numeric, sb.numeric, scale: max(sa.scale, sb.scale), tolerance: tolerance)
    }

    func equal(_ a: Expr, _ b: Expr) throws(VerifyFailure) -> Tri {
        if let sa = a.infinitySign ?? nil, let sb = b.infinitySign ?? nil { return sa == sb ? .yes : .no }
        if a.containsInfinity || b.containsInfinity { return a == b ? .yes : .no }
        if try roundedDecimal(a, b) { return .yes }
        if try roundedDecimal(b, a) { return .yes }
        let decimals = a.containsDecimal || b.containsDecimal
        let tolerance = decimals ? (options.floatTolerance ?? ScalarComparer.decimalTolerance) : nil
        let vars = Array(a.freeVariables.union(b.freeVariables)).sorted()
        let envs = vars.isEmpty ? [[:]] : points(for: vars, count: 8, seed: 0x5EED)
        var valid = 0
        for env in envs {
            guard let (sa, sb) = try sample(a, b, env: env) else { continue }
            if !same(sa, sb, tolerance: tolerance) { return .no }
            valid += 1
            if valid >= 4 { break }
        }
        if valid == 0 { return a == b ? .yes : .unknown }
        if vars.isEmpty || valid >= 3 { return .yes }
        return a == b ? .yes : .unknown
    }

    /// Is `a` a decimal written to d places that is the constant `b` correctly rounded to d places, with at
    /// least `roundedDecimals` significant digits (`0.6667` for 2/3; not `0.67`, `0.333` or `3.14`, which too
    /// many other values also round to)?
    func roundedDecimal(_ a: Expr, _ b: Expr) throws(VerifyFailure) -> Bool {
        guard let minDigits = options.roundedDecimals, let r = a.decimalLiteral, !b.containsDecimal,
            b.freeVariables.isEmpty else { return false }
        // Places shown: the denominator is 2^a·5^b, so the places are max(a, b). Decimals past 18 digits
        // (beyond what a float prints) are left to the exact comparison.
        guard let den = Int(exactly: r.den), let num = Int(exactly: r.num.magnitude), den > 1 else { return false }
        var (d, twos, fives) = (den, 0, 0)
        while d % 2 == 0 { d /= 2; twos += 1 }
        while d % 5 == 0 { d /= 5; fives += 1 }
        let places = max(twos, fives)
        guard d == 1, places <= 18 else { return false }
        let (scaledNum, overflow) = num.multipliedReportingOverflow(by: Self.powersOfTen[places] / den)
        guard !overflow, String(scaledNum).count >= minDigits else { return false }
        guard let (_, sb) = try sample(a, b, env: [:]) else { return false }
        // Rounded to the places shown; a long decimal (12+ places, as floats print) may also be cut off
        // within its last place (`0.1428571428571428` for 1/7).
        let unit = Rational(BigInt(1), BigInt(10).power(places))
        let half = places >= 12 ? unit : Rational(BigInt(1), BigInt(2) * BigInt(10).power(places))
        if let x = sb.exact {
            guard x.isReal else { return false }
            let d = x.re - r
            return !(d.isNegative ? -d - half : d - half).isPositive
        }
        guard sb.numeric.im == 0, sb.numeric.re.isFinite else { return false }
        return abs(sb.numeric.re - r.doubleValue) <= half.doubleValue * (1 + 1e-9)
    }

    static let powersOfTen: [Int] = (0...18).map { (0..<$0).reduce(1) { acc, _ in acc * 10 } }

    /// Is a = c·b for one constant c ≠ 0 (c > 0 when `positive`)? Used for equations and inequalities.
    func proportional(_ a: Expr, _ b: Expr, positive: Bool) throws(VerifyFailure) -> Tri {
        let vars = Array(a.freeVariables.union(b.freeVariables)).sorted()
        let envs = vars.isEmpty ? [[:]] : points(for: vars, count: 10, seed: 0xFACE)
        var ratio: Sample? = nil
        var informative = 0
        var bothZero = 0
        for env in envs {
            guard let (sa, sb) = try sample(a, b, env: env) else { continue }
            let za = sa.exact?.isZero ?? (sa.numeric.magnitude <= 1e-12 * max(1, sa.scale))
            let zb = sb.exact?.isZero ?? (sb.numeric.magnitude <= 1e-12 * max(1, sb.scale))
            if za && zb { bothZero += 1; continue }
            if za != zb { return .no }
            var r = Sample(exact: nil, numeric: sa.numeric.divided(by: sb.numeric) ?? Complex(.nan), scale: 1)
            if let x = sa.exact, let y = sb.exact { r.exact = x.divided(by: y) }
            if positive && !(r.numeric.im == 0 && r.numeric.re > 0) { return .no }
            if let first = ratio {
                if !same(first, r, tolerance: nil) { return .no }
            } else {
                ratio = r
            }
            informative += 1
            if informative >= 4 { break }
        }
        if informative >= 3 || (vars.isEmpty && informative == 1) { return .yes }
        if informative == 0 && bothZero >= 3 { return .yes }
        return a == b ? .yes : .unknown
    }
}

extension Expr {
    /// The value of a decimal number as written (`0.6667`, `-1.25`); nil for anything else.
    var decimalLiteral: Rational? {
        switch self {
        case .number(let r, decimal: true): return r
        case .negate(let a): return a.decimalLiteral.map { -$0 }
        default: return nil
        }
    }

    /// +1 / -1 for ±∞, nil when not an infinity.
    var infinitySign: Int?? {
        switch self {
        case .constant(.infinity): return 1
        case .negate(let a): return a.infinitySign.map { $0.map { -$0 } }
        default: return nil
        }
    }
    var containsInfinity: Bool {
        var found = false
        visit { if case .constant(.infinity) = $0 { found = true } }
        return found
    }
}
