import Foundation

/// Vectorised exp and erf on 8 floats at a time, for the encoder's softmax and GELU (the scalar libm calls
/// took a large part of the encoder's time). Accuracy is at float32 resolution; the NumPy check in the tests
/// covers the result end to end.
enum VectorMath {
    typealias V = SIMD8<Float>
    typealias U = SIMD8<UInt32>

    /// exp(x), Cephes' expf: Cody–Waite reduction by ln 2 and a degree-5 polynomial (relative error ~1e-7);
    /// rounding and the 2^k scale use float/integer bit tricks only (generic SIMD conversions are slow).
    /// Meant for x ≤ 88 (softmax and erf only pass x ≤ 0); below −87.3 it returns exp(−87.3).
    @inline(__always)
    static func exp(_ x: V) -> V {
        let x = pointwiseMax(x, V(repeating: -87.3))
        let magic = V(repeating: 12_582_912)  // 1.5 · 2²³: adding it rounds to the nearest integer
        let t = x * 1.442_695_04 + magic
        let k = t - magic
        let r = x - k * 0.693_359_375 - k * -2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * (r * r) + r + 1
        let kbits = unsafeBitCast(t, to: U.self) &- U(repeating: 0x4B40_0000)
        let scale = (kbits &+ U(repeating: 127)) &<< U(repeating: 23)
        return y * unsafeBitCast(scale, to: V.self)
    }

    /// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7) on |x|, sign copied back bitwise.
    @inline(__always)
    static func erf(_ x: V) -> V {
        let xb = unsafeBitCast(x, to: U.self)
        let a = unsafeBitCast(xb & U(repeating: 0x7FFF_FFFF), to: V.self)
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = V(repeating: 1.061_405_429)
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        let e = 1 - p * t * exp(-(a * a))
        return unsafeBitCast(unsafeBitCast(e, to: U.self) | (xb & U(repeating: 0x8000_0000)), to: V.self)
    }

    /// In-place GELU `0.5 · x · (1 + erf(x / √2))` over a buffer.
    static func gelu(_ p: UnsafeMutablePointer<Float>, count n: Int) {
        let invSqrt2: Float = 0.707_106_781_186_547_52
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(p + i)
            let x = raw.loadUnaligned(as: V.self)
            raw.storeBytes(of: 0.5 * x * (1 + erf(x * invSqrt2)), as: V.self)
            i += 8
        }
        while i < n {
            p[i] = 0.5 * p[i] * (1 + erff(p[i] * invSqrt2))
            i += 1
        }
    }

    /// Row-wise softmax in place.
    static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = p + r * cols
            var m = -Float.infinity
            for j in 0..<cols { m = Swift.max(m, row[j]) }
            var sum: Float = 0
            var j = 0
            let mv = V(repeating: m)
            var acc = V.zero
            while j + 8 <= cols {
                let raw = UnsafeMutableRawPointer(row + j)
                let e = exp(raw.loadUnaligned(as: V.self) - mv)
                raw.storeBytes(of: e, as: V.self)
                acc += e
                j += 8
            }
            sum = acc.sum()
            while j < cols {
                let e = expf(row[j] - m)
                row[j] = e
                sum += e
                j += 1
            }
            let inv = 1 / sum
            for j in 0..<cols { row[j] *= inv }
        }
    }
}
