import Foundation

/// Complex double evaluation at a point. Returns nil where the expression is undefined. Tracks the largest
/// magnitude seen, so the comparison can allow for cancellation error.
struct NumericEvaluator {
    let budget: Budget
    let env: [String: Complex]
    var scale: Double = 0

    mutating func eval(_ e: Expr) throws(VerifyFailure) -> Complex? {
        try budget.charge()
        guard let v = try evalNode(e), v.isFinite else { return nil }
        return v
    }

    private mutating func evalNode(_ e: Expr) throws(VerifyFailure) -> Complex? {
        switch e {
        case .number(let r, _): return Complex(r.doubleValue)
        case .variable(let v): return env[v]
        case .constant(let c):
            switch c {
            case .pi: return Complex(Double.pi)
            case .e: return Complex(M_E)
            case .i: return Complex(0, 1)
            case .infinity: return nil
            }
        case .negate(let a): return try eval(a).map { -$0 }
        case .sum(let xs):
            var acc = Complex(0)
            for x in xs {
                guard let v = try eval(x) else { return nil }
                // Cancellation in a sum loses precision relative to the largest term.
                scale = max(scale, v.magnitude)
                acc = acc + v
            }
            return acc
        case .product(let xs):
            var acc = Complex(1)
            for x in xs {
                guard let v = try eval(x) else { return nil }
                acc = acc * v
            }
            return acc
        case .quotient(let a, let b):
            guard let x = try eval(a), let y = try eval(b) else { return nil }
            // Treat a denominator that is zero up to rounding as a pole.
            if y.magnitude <= 1e-13 * max(1, scale) { return nil }
            return x.divided(by: y)
        case .power(let a, let b):
            guard let x = try eval(a), let y = try eval(b) else { return nil }
            return Complex.pow(x, y)
        case .percent(let a): return try eval(a).map { Complex($0.re / 100, $0.im / 100) }
        case .based(let digits, let base):
            guard let v = Int(digits, radix: base) else { return nil }
            return Complex(Double(v))
        case .function(let f, let args): return try function(f, args)
        default:
            throw .parse("not a number: \(e)")
        }
    }

    private mutating func function(_ f: Expr.Function, _ args: [Expr]) throws(VerifyFailure) -> Complex? {
        guard let z = try eval(args[0]) else { return nil }
        let real = z.im == 0 ? z.re : nil
        if [.sin, .cos, .tan, .cot, .sec, .csc].contains(f) { scale = max(scale, z.magnitude) }
        switch f {
        case .sqrt: return Complex.sqrt(z)
        case .root:
            guard let n = real, let y = try eval(args[1]) else { return nil }
            if y.im == 0, y.re < 0, n.rounded() == n, abs(n) < 1e15, Int(n) % 2 != 0 {
                return Complex(-pow(-y.re, 1 / n))
            }
            return Complex.pow(y, Complex(1 / n))
        case .sin: return Complex.sin(z)
        case .cos: return Complex.cos(z)
        case .tan, .cot:
            let s = Complex.sin(z), c = Complex.cos(z)
            return f == .tan ? s.divided(by: c) : c.divided(by: s)
        case .sec: return Complex(1).divided(by: Complex.cos(z))
        case .csc: return Complex(1).divided(by: Complex.sin(z))
        case .asin:
            guard let x = real, abs(x) <= 1 else { return nil }
            return Complex(asin(x))
        case .acos:
            guard let x = real, abs(x) <= 1 else { return nil }
            return Complex(acos(x))
        case .atan: return real.map { Complex(atan($0)) }
        case .sinh: return real.map { Complex(sinh($0)) }
        case .cosh: return real.map { Complex(cosh($0)) }
        case .tanh: return real.map { Complex(tanh($0)) }
        case .exp: return Complex.exp(z)
        case .ln: return Complex.log(z)
        case .log:
            guard let b = try eval(args[1]), let lx = Complex.log(z), let lb = Complex.log(b) else { return nil }
            return lx.divided(by: lb)
        case .abs: return Complex(z.magnitude)
        case .floor: return real.map { Complex(Foundation.floor($0)) }
        case .ceil: return real.map { Complex(Foundation.ceil($0)) }
        case .factorial:
            guard let x = real, x > -1, x <= 170 else { return nil }
            if x.rounded() == x, x < 0 { return nil }
            return Complex(tgamma(x + 1))
        case .binom:
            guard let n = real, let kz = try eval(args[1]), kz.im == 0, n <= 170, n >= 0 else { return nil }
            let k = kz.re
            if k < 0 || k > n { return Complex(0) }
            let v = tgamma(n + 1) / (tgamma(k + 1) * tgamma(n - k + 1))
            return Complex(n.rounded() == n && k.rounded() == k ? v.rounded() : v)
        }
    }
}
