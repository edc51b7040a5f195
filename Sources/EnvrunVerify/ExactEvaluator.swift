import Foundation
import BigInt

/// The outcome of evaluating an expression exactly.
enum ExactValue {
    case value(CRational)
    /// Defined but not (provably) rational: π, √2, sin 1 … — evaluate numerically instead.
    case inexact
    /// Outside the domain: division by zero, 0^-1, (-3)!.
    case undefined
}

/// Exact evaluation over the complex rationals, bounded by the budget.
struct ExactEvaluator {
    let budget: Budget
    let env: [String: Rational]

    func eval(_ e: Expr) throws(VerifyFailure) -> ExactValue {
        try budget.charge()
        switch e {
        case .number(let r, _): return .value(CRational(r))
        case .variable(let v): return env[v].map { .value(CRational($0)) } ?? .inexact
        case .constant(.i): return .value(.i)
        case .constant: return .inexact
        case .negate(let a):
            if case .value(let x) = try eval(a) { return .value(-x) }
            return try eval(a)
        case .sum(let xs):
            var acc = CRational(.zero)
            var inexact = false
            for x in xs {
                switch try eval(x) {
                case .value(let v): try budget.chargeBits(v.bits); acc = acc + v
                case .inexact: inexact = true
                case .undefined: return .undefined
                }
            }
            return inexact ? .inexact : .value(acc)
        case .product(let xs):
            var acc = CRational(.one)
            var inexact = false
            for x in xs {
                switch try eval(x) {
                case .value(let v): try budget.chargeBits(v.bits + acc.bits); acc = acc * v
                case .inexact: inexact = true
                case .undefined: return .undefined
                }
            }
            return inexact ? .inexact : .value(acc)
        case .quotient(let a, let b):
            let (x, y) = (try eval(a), try eval(b))
            guard case .value(let q) = y else { return y.isUndefined ? .undefined : (x.isUndefined ? .undefined : .inexact) }
            if q.isZero { return .undefined }
            guard case .value(let p) = x else { return x }
            try budget.chargeBits(p.bits + q.bits)
            return .value(p.divided(by: q)!)
        case .power(let a, let b): return try power(a, b)
        case .function(let f, let args): return try function(f, args)
        case .percent(let a):
            guard case .value(let x) = try eval(a) else { return try eval(a) }
            return .value(x.divided(by: CRational(Rational(100)))!)
        case .based(let digits, let base):
            guard let v = BigInt(digits, radix: base) else { return .undefined }
            return .value(CRational(Rational(v)))
        default:
            throw .parse("not a number: \(e)")
        }
    }

    private func power(_ a: Expr, _ b: Expr) throws(VerifyFailure) -> ExactValue {
        let y = try eval(b)
        guard case .value(let ev) = y else {
            let x = try eval(a)
            if x.isUndefined || y.isUndefined { return .undefined }
            return .inexact
        }
        guard ev.isReal else { return .inexact }
        let exp = ev.re
        // Refuse hopeless sizes before computing the base (10^10^10 stops here).
        if exp.num.magnitude.bitWidth > 40 { throw .limit("exponent too large") }
        // A root of huge degree (2^{1/10^{30}}) is not rational: leave it to the numeric path.
        if exp.den.magnitude.bitWidth > 40 { return try eval(a).isUndefined ? .undefined : .inexact }
        let x = try eval(a)
        guard case .value(let base) = x else { return x }
        if base.isZero {
            if exp.isZero { return .value(CRational(.one)) }
            return exp.isNegative ? .undefined : .value(base)
        }
        if base == CRational(.one) { return .value(base) }
        let q = Int(exp.den), p = Int(exp.num)
        if abs(p) > budget.limits.maxExponent { throw .limit("exponent \(p) larger than \(budget.limits.maxExponent)") }
        var root = base
        if q != 1 {
            guard base.isReal, q <= 64, let r = base.re.root(q) else { return .inexact }
            root = CRational(r)
        }
        let estimate = root.bits * abs(p)
        if estimate > budget.limits.maxBits * 2 { throw .limit("power too large") }
        try budget.chargeBits(min(estimate, budget.limits.maxBits))
        if root.isReal {
            guard let v = root.re.power(p) else { return .undefined }
            return .value(CRational(v))
        }
        var result = CRational(.one)
        var sq = root
        var n = abs(p)
        while n > 0 {
            if n & 1 == 1 { result = result * sq }
            n >>= 1
            if n > 0 { sq = sq * sq }
            try budget.chargeBits(result.bits + sq.bits)
        }
        if p < 0 { return result.isZero ? .undefined : .value(CRational(.one).divided(by: result)!) }
        return .value(result)
    }

    private func realArg(_ e: Expr) throws(VerifyFailure) -> (Rational?, ExactValue) {
        let v = try eval(e)
        if case .value(let c) = v, c.isReal { return (c.re, v) }
        return (nil, v)
    }

    private func function(_ f: Expr.Function, _ args: [Expr]) throws(VerifyFailure) -> ExactValue {
        let (x, raw) = try realArg(args[0])
        if raw.isUndefined { return .undefined }
        switch f {
        case .sqrt:
            if case .value(let c) = raw, !c.isReal { return .inexact }
            guard let x else { return .inexact }
            try budget.chargeBits(x.bits)
            if x.isNegative { return (-x).root(2).map { .value(CRational(.zero, $0)) } ?? .inexact }
            return x.root(2).map { .value(CRational($0)) } ?? .inexact
        case .root:
            let (n, _) = try realArg(args[0])
            let (y, rawY) = try realArg(args[1])
            if rawY.isUndefined { return .undefined }
            guard let n, n.isInteger, let k = Int(exactly: n.num), k >= 1, k <= 64, let y else { return .inexact }
            try budget.chargeBits(y.bits * 2)
            return y.root(k).map { .value(CRational($0)) } ?? .inexact
        case .factorial:
            guard let x else { return .inexact }
            guard x.isInteger else { return .inexact }
            if x.isNegative { return .undefined }
            guard let n = Int(exactly: x.num), n <= budget.limits.maxFactorial else {
                throw .limit("factorial larger than \(budget.limits.maxFactorial)!")
            }
            var acc = BigInt(1)
            if n >= 2 {
                for k in 2...n {
                    acc *= BigInt(k)
                    // A big number times a small one: linear in its size.
                    try budget.charge(1 + acc.magnitude.bitWidth / 512)
                    if acc.magnitude.bitWidth > budget.limits.maxBits { throw .limit("factorial too large") }
                }
            }
            return .value(CRational(Rational(acc)))
        case .binom:
            let (k, rawK) = try realArg(args[1])
            if rawK.isUndefined { return .undefined }
            guard let x, let k, x.isInteger, k.isInteger, let n = Int(exactly: x.num), let kk = Int(exactly: k.num) else {
                return .inexact
            }
            if kk < 0 || n < 0 || kk > n { return .value(CRational(.zero)) }
            guard n <= budget.limits.maxFactorial * 4 else { throw .limit("binomial too large") }
            var acc = BigInt(1)
            let m = min(kk, n - kk)
            if m > 0 {
                for j in 1...m {
                    acc = acc * BigInt(n - m + j) / BigInt(j)
                    try budget.charge(1 + acc.magnitude.bitWidth / 256)
                    if acc.magnitude.bitWidth > budget.limits.maxBits { throw .limit("binomial too large") }
                }
            }
            return .value(CRational(Rational(acc)))
        case .abs:
            if case .value(let c) = raw, !c.isReal {
                let m = c.re * c.re + c.im * c.im
                return m.root(2).map { .value(CRational($0)) } ?? .inexact
            }
            guard let x else { return .inexact }
            return .value(CRational(x.isNegative ? -x : x))
        case .floor, .ceil:
            guard let x else { return .inexact }
            let (q, r) = x.num.quotientAndRemainder(dividingBy: x.den)
            var v = q
            if !r.isZero {
                if f == .floor && x.isNegative { v -= 1 }
                if f == .ceil && !x.isNegative { v += 1 }
            }
            return .value(CRational(Rational(v)))
        case .sin, .tan, .asin, .atan, .sinh, .tanh:
            if let x, x.isZero { return .value(CRational(.zero)) }
            return .inexact
        case .cos, .sec, .cosh:
            if let x, x.isZero { return .value(CRational(.one)) }
            return .inexact
        case .exp:
            if let x, x.isZero { return .value(CRational(.one)) }
            return .inexact
        case .ln:
            if let x, x == .one { return .value(CRational(.zero)) }
            if let x, x.isZero { return .undefined }
            return .inexact
        case .log:
            let (b, rawB) = try realArg(args[1])
            if rawB.isUndefined { return .undefined }
            guard let x, let b, !x.isNegative, !x.isZero, !b.isNegative, !b.isZero, b != .one else {
                if let x, x.isZero { return .undefined }
                return .inexact
            }
            guard let v = try Self.exactLog(x, base: b, budget: budget) else { return .inexact }
            return .value(CRational(v))
        case .acos, .cot, .csc:
            return .inexact
        }
    }

    /// log_b(x) when it is a small rational k/m (b^k = x^m), else nil.
    static func exactLog(_ x: Rational, base b: Rational, budget: Budget) throws(VerifyFailure) -> Rational? {
        if x == .one { return .zero }
        let lx = Foundation.log2(x.doubleValue), lb = Foundation.log2(b.doubleValue)
        guard lx.isFinite, lb.isFinite, lb != 0 else { return nil }
        for m in 1...6 {
            try budget.charge()
            let kd = (Double(m) * lx / lb).rounded()
            guard abs(kd * lb - Double(m) * lx) < 1e-6 * max(1, abs(lx)), abs(kd) <= 256, kd != 0 else { continue }
            let k = Int(kd)
            if b.bits * abs(k) > budget.limits.maxBits || x.bits * m > budget.limits.maxBits { continue }
            if b.power(k) == x.power(m) { return Rational(BigInt(k), BigInt(m)) }
        }
        return nil
    }
}

extension ExactValue {
    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }
}
