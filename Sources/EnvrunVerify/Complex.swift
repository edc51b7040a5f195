import Foundation

/// A complex double used for numeric evaluation at random points.
struct Complex: Sendable, Equatable {
    var re: Double
    var im: Double
    init(_ re: Double, _ im: Double = 0) { self.re = re; self.im = im }

    var isFinite: Bool { re.isFinite && im.isFinite }
    var magnitude: Double { hypot(re, im) }
    var isReal: Bool { im == 0 }

    static func + (a: Complex, b: Complex) -> Complex { Complex(a.re + b.re, a.im + b.im) }
    static func - (a: Complex, b: Complex) -> Complex { Complex(a.re - b.re, a.im - b.im) }
    static prefix func - (a: Complex) -> Complex { Complex(-a.re, -a.im) }
    static func * (a: Complex, b: Complex) -> Complex {
        if a.im == 0 && b.im == 0 { return Complex(a.re * b.re) }
        return Complex(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
    }
    /// nil when dividing by zero.
    func divided(by b: Complex) -> Complex? {
        if b.re == 0 && b.im == 0 { return nil }
        if b.im == 0 { return Complex(re / b.re, im / b.re) }
        let d = b.re * b.re + b.im * b.im
        return Complex((re * b.re + im * b.im) / d, (im * b.re - re * b.im) / d)
    }

    static func exp(_ z: Complex) -> Complex {
        let m = Foundation.exp(z.re)
        if z.im == 0 { return Complex(m) }
        return Complex(m * Foundation.cos(z.im), m * Foundation.sin(z.im))
    }
    /// Principal logarithm; nil at zero.
    static func log(_ z: Complex) -> Complex? {
        if z.re == 0 && z.im == 0 { return nil }
        if z.im == 0 && z.re > 0 { return Complex(Foundation.log(z.re)) }
        return Complex(Foundation.log(z.magnitude), atan2(z.im, z.re))
    }
    /// Principal square root.
    static func sqrt(_ z: Complex) -> Complex {
        if z.im == 0 {
            return z.re >= 0 ? Complex(Foundation.sqrt(z.re)) : Complex(0, Foundation.sqrt(-z.re))
        }
        let m = z.magnitude
        let r = Foundation.sqrt((m + z.re) / 2)
        let i = Foundation.sqrt((m - z.re) / 2)
        return Complex(r, z.im < 0 ? -i : i)
    }
    /// Real-valued power when both are real and the base is positive or the exponent an integer; otherwise
    /// the principal value exp(b log a). nil for 0 to a non-positive power.
    static func pow(_ a: Complex, _ b: Complex) -> Complex? {
        if a.im == 0 && b.im == 0 {
            if a.re == 0 { return b.re > 0 ? Complex(0) : nil }
            if a.re > 0 || b.re == b.re.rounded() { return Complex(Foundation.pow(a.re, b.re)) }
        }
        if a.re == 0 && a.im == 0 { return b.re > 0 ? Complex(0) : nil }
        guard let l = log(a) else { return nil }
        return exp(b * l)
    }
    static func sin(_ z: Complex) -> Complex {
        if z.im == 0 { return Complex(Foundation.sin(z.re)) }
        return Complex(Foundation.sin(z.re) * cosh(z.im), Foundation.cos(z.re) * sinh(z.im))
    }
    static func cos(_ z: Complex) -> Complex {
        if z.im == 0 { return Complex(Foundation.cos(z.re)) }
        return Complex(Foundation.cos(z.re) * cosh(z.im), -Foundation.sin(z.re) * sinh(z.im))
    }
}
