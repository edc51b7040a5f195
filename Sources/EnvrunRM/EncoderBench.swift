import EnvrunCore
import Foundation

/// `envrun bench rm`: encoder throughput at a fixed shape and its achieved GFLOP/s as a fraction of
/// `cblas_sgemm`'s peak measured in the same run with the same thread count.
public struct EncoderBench: Sendable {
    public var batch = 32
    public var tokens = 128
    public var repeats = 7
    public var gemmSize = 1024
    public var seed: UInt64 = 1

    public init() {}

    public struct Report: Codable, Sendable {
        public var threads: Int
        public var batch: Int
        public var tokens: Int
        public var repeats: Int
        public var encoderMedianSeconds: Double
        public var sequencesPerSecond: Double
        public var encoderGFLOPs: Double
        public var gemmShape: String
        public var gemmPeakGFLOPs: Double
        public var gemmFFNShapeGFLOPs: Double
        public var fractionOfPeak: Double
        enum CodingKeys: String, CodingKey {
            case threads, batch, tokens, repeats
            case encoderMedianSeconds = "encoder_median_s"
            case sequencesPerSecond = "sequences_per_s"
            case encoderGFLOPs = "encoder_gflops"
            case gemmShape = "gemm_shape"
            case gemmPeakGFLOPs = "gemm_peak_gflops"
            case gemmFFNShapeGFLOPs = "gemm_ffn_shape_gflops"
            case fractionOfPeak = "fraction_of_peak"
        }
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func time(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// A timed `C[m×n] = A[m×k] · B[n×k]ᵀ` on fixed random operands.
    struct Gemm {
        let m: Int, n: Int, k: Int
        let a: [Float], b: [Float]
        var c: [Float]
        init(m: Int, n: Int, k: Int, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            self.m = m
            self.n = n
            self.k = k
            a = (0..<(m * k)).map { _ in Float(rng.unit() - 0.5) }
            b = (0..<(n * k)).map { _ in Float(rng.unit() - 0.5) }
            c = [Float](repeating: 0, count: m * n)
        }
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        mutating func timed() -> Double {
            let (m, n, k) = (self.m, self.n, self.k)
            return a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        EncoderBench.time {
                            BLAS.gemmNT(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k,
                                        c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
            }
        }
    }

    public func run(encoder: MiniLMEncoder, log: (String) -> Void) -> Report {
        let c = encoder.config
        let n = batch * tokens
        var square = Gemm(m: gemmSize, n: gemmSize, k: gemmSize, seed: seed)
        var ffnShape = Gemm(m: n, n: c.intermediateSize, k: c.hiddenSize, seed: seed + 1)
        var rng = SplitMix64(seed: seed)
        let ids: [[Int32]] = (0..<batch).map { _ in
            [encoder.tokenizer.clsID]
                + (0..<(tokens - 2)).map { _ in Int32(1000 + Int(rng.next() % UInt64(c.vocabSize - 1000))) }
                + [encoder.tokenizer.sepID]
        }
        // The three measurements alternate, so that all of them see the same load on a shared machine;
        // round 0 warms caches and OpenBLAS's threads and is not counted.
        var times: [Double] = [], squareTimes: [Double] = [], ffnTimes: [Double] = []
        var sink: Float = 0
        for rep in 0...repeats {
            let ts = square.timed()
            let tf = ffnShape.timed()
            let te = Self.time { sink += encoder.embed(tokenIDs: ids)[0][0] }
            if rep > 0 {
                squareTimes.append(ts)
                ffnTimes.append(tf)
                times.append(te)
            }
            log(String(format: "round %d/%d: sgemm %.1f GFLOP/s, encoder %.3f s", rep, repeats, square.flops / ts / 1e9, te))
        }
        if sink.isNaN { log("warning: NaN in embeddings") }
        let peakSquare = square.flops / Self.median(squareTimes) / 1e9
        let ffn = ffnShape.flops / Self.median(ffnTimes) / 1e9
        let med = Self.median(times)
        let flops = encoder.flops(lengths: Array(repeating: tokens, count: batch))
        let gflops = flops / med / 1e9
        let peak = max(peakSquare, ffn)
        return Report(
            threads: BLAS.threads, batch: batch, tokens: tokens, repeats: repeats, encoderMedianSeconds: med,
            sequencesPerSecond: Double(batch) / med, encoderGFLOPs: gflops, gemmShape: "\(gemmSize)³",
            gemmPeakGFLOPs: peakSquare, gemmFFNShapeGFLOPs: ffn, fractionOfPeak: gflops / peak)
    }
}
