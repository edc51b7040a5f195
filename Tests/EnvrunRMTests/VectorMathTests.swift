import Foundation
import Testing
@testable import EnvrunRM

@Suite struct VectorMathTests {
    static let grid: [Float] = stride(from: -20.0, through: 20.0, by: 0.0137).map { Float($0) } + [0, -0.0, 1e-8, -1e-8, 80, -80]

    @Test func expMatchesLibm() {
        var worst: Double = 0
        var i = 0
        while i + 8 <= Self.grid.count {
            let x = SIMD8<Float>(Self.grid[i..<(i + 8)])
            let y = VectorMath.exp(x)
            for l in 0..<8 {
                let ref = Foundation.exp(Double(x[l]))
                worst = max(worst, abs(Double(y[l]) - ref) / ref)
            }
            i += 8
        }
        print("vector exp: worst relative error \(worst)")
        #expect(worst < 5e-7)
    }

    @Test func erfAndGeluMatchLibm() {
        var worst: Double = 0
        var buf = Self.grid.map { $0 / 3 }
        let xs = buf
        buf.withUnsafeMutableBufferPointer { VectorMath.gelu($0.baseAddress!, count: $0.count) }  // tail goes scalar
        for (x, g) in zip(xs, buf) {
            let ref = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(g) - ref) / max(1, abs(ref)))
        }
        print("vector gelu: worst error \(worst)")
        #expect(worst < 1e-6)
        #expect(xs.count % 8 != 0)  // the scalar tail is exercised
    }

    @Test func softmaxRowsSumToOne() {
        var m: [Float] = (0..<(3 * 13)).map { Float($0 % 7) - 3 }
        m.withUnsafeMutableBufferPointer { VectorMath.softmaxRows($0.baseAddress!, rows: 3, cols: 13) }
        for r in 0..<3 {
            let row = m[(r * 13)..<((r + 1) * 13)]
            #expect(abs(row.reduce(0, +) - 1) < 1e-6)
            let ref = (0..<13).map { Foundation.exp(Double(($0 + r * 13) % 7 - 3)) }
            let total = ref.reduce(0, +)
            for (j, v) in row.enumerated() { #expect(abs(Double(v) - ref[j] / total) < 1e-6) }
        }
    }
}
