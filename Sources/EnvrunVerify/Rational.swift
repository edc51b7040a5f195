import BigInt

/// An exact rational number in lowest terms with a positive denominator.
struct Rational: Hashable, Sendable, CustomStringConvertible {
    private(set) var num: BigInt
    private(set) var den: BigInt

    static let zero = Rational(0)
    static let one = Rational(1)

    init(_ n: Int) { num = BigInt(n); den = 1 }
    /// Already in lowest terms with a positive denominator.
    private init(reduced n: BigInt, _ d: BigInt) { num = n; den = d }
    init(_ n: BigInt) { num = n; den = 1 }

    /// `den` must be non-zero.
    init(_ n: BigInt, _ d: BigInt) {
        precondition(!d.isZero)
        var n = n, d = d
        if d.sign == .minus { n.negate(); d.negate() }
        if d != 1 {
            let g = n.greatestCommonDivisor(with: d)
            if g != 1 && !g.isZero { n /= g; d /= g }
        }
        num = n; den = d
    }

    var isZero: Bool { num.isZero }
    var isInteger: Bool { den == 1 }
    var isNegative: Bool { num.sign == .minus && !num.isZero }
    var isPositive: Bool { num.sign == .plus && !num.isZero }
    var bits: Int { num.magnitude.bitWidth + den.magnitude.bitWidth }

    static func + (a: Rational, b: Rational) -> Rational {
        if a.den == b.den { return Rational(a.num + b.num, a.den) }
        return Rational(a.num * b.den + b.num * a.den, a.den * b.den)
    }
    static prefix func - (a: Rational) -> Rational {
        var r = a
        r.num.negate()
        return r
    }
    static func - (a: Rational, b: Rational) -> Rational { a + (-b) }
    static func * (a: Rational, b: Rational) -> Rational {
        if a.den == 1 && b.den == 1 { return Rational(a.num * b.num) }
        return Rational(a.num * b.num, a.den * b.den)
    }
    /// nil when dividing by zero.
    func divided(by b: Rational) -> Rational? {
        b.isZero ? nil : Rational(num * b.den, den * b.num)
    }
    var reciprocal: Rational? { Rational.one.divided(by: self) }

    /// Integer power; the caller bounds the exponent. nil for 0^negative.
    func power(_ e: Int) -> Rational? {
        // Powers of coprime numbers stay coprime: no gcd needed.
        if e >= 0 { return Rational(reduced: num.power(e), den.power(e)) }
        if isZero { return nil }
        var n = den.power(-e), d = num.power(-e)
        if d.sign == .minus { n.negate(); d.negate() }
        return Rational(reduced: n, d)
    }

    /// The exact k-th root when it is rational (k ≥ 2; negative only for odd k), else nil.
    func root(_ k: Int) -> Rational? {
        if isNegative {
            guard k % 2 == 1, let r = (-self).root(k) else { return nil }
            return -r
        }
        guard let n = Rational.intRoot(num, k), let d = Rational.intRoot(den, k) else { return nil }
        return Rational(n, d)
    }

    private static func intRoot(_ x: BigInt, _ k: Int) -> BigInt? {
        if x.isZero || x == 1 { return x }
        if k == 2 {
            let r = x.squareRoot()
            return r * r == x ? r : nil
        }
        // Newton's method on the magnitude, starting above the root.
        let bits = x.magnitude.bitWidth
        var r = BigInt(1) << ((bits + k - 1) / k + 1)
        while true {
            let a: BigInt = BigInt(k - 1) * r
            let b: BigInt = x / r.power(k - 1)
            let next: BigInt = (a + b) / BigInt(k)
            if next >= r { break }
            r = next
        }
        return r.power(k) == x ? r : nil
    }

    var doubleValue: Double {
        if num.isZero { return 0 }
        let nb = num.magnitude.bitWidth, db = den.magnitude.bitWidth
        let ns = max(0, nb - 62), ds = max(0, db - 62)
        let n = Double(num >> ns), d = Double(den >> ds)
        let q = n / d
        let shift = ns - ds
        if shift > 2100 { return q.sign == .minus ? -.infinity : .infinity }
        if shift < -2100 { return 0 }
        return Double(sign: .plus, exponent: shift, significand: q)
    }

    var description: String { den == 1 ? num.description : "\(num)/\(den)" }
}

/// An exact complex rational, so that `3+4i` and `i^2 = -1` stay exact.
struct CRational: Hashable, Sendable, CustomStringConvertible {
    var re: Rational
    var im: Rational

    init(_ re: Rational, _ im: Rational = .zero) { self.re = re; self.im = im }
    static let i = CRational(.zero, .one)

    var isReal: Bool { im.isZero }
    var isZero: Bool { re.isZero && im.isZero }
    var bits: Int { re.bits + im.bits }

    static func + (a: CRational, b: CRational) -> CRational { CRational(a.re + b.re, a.im + b.im) }
    static func - (a: CRational, b: CRational) -> CRational { CRational(a.re - b.re, a.im - b.im) }
    static prefix func - (a: CRational) -> CRational { CRational(-a.re, -a.im) }
    static func * (a: CRational, b: CRational) -> CRational {
        if a.isReal && b.isReal { return CRational(a.re * b.re) }
        return CRational(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
    }
    func divided(by b: CRational) -> CRational? {
        if b.isReal { return b.re.isZero ? nil : CRational(re.divided(by: b.re)!, im.divided(by: b.re)!) }
        let d = b.re * b.re + b.im * b.im
        let n = self * CRational(b.re, -b.im)
        return CRational(n.re.divided(by: d)!, n.im.divided(by: d)!)
    }

    var complexValue: Complex { Complex(re.doubleValue, im.doubleValue) }

    var description: String {
        if im.isZero { return re.description }
        if re.isZero { return "\(im)*I" }
        return "\(re) + \(im)*I"
    }
}
