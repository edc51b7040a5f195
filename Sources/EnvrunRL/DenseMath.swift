import COpenBLAS
import Foundation

/// Row-major Float64 matrix products on OpenBLAS (the tiny policy trains in double precision: its
/// matrices are small, so the cost is overhead, and the gradient checks can be tight).
enum Dense {
    /// C[m×n] = A[m×k]·B[k×n] + beta·C.
    static func nn(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                   _ c: UnsafeMutablePointer<Double>, beta: Double = 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                    Int32(n), beta, c, Int32(n))
    }

    /// C[m×n] = A[m×k]·B[n×k]ᵀ + beta·C.
    static func nt(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                   _ c: UnsafeMutablePointer<Double>, beta: Double = 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                    Int32(k), beta, c, Int32(n))
    }

    /// C[m×n] = A[k×m]ᵀ·B[k×n] + beta·C.
    static func tn(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                   _ c: UnsafeMutablePointer<Double>, beta: Double = 0) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(m), b,
                    Int32(n), beta, c, Int32(n))
    }

    static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
}

extension Array where Element == Double {
    @inline(__always) static func zeros(_ n: Int) -> [Double] { [Double](repeating: 0, count: n) }
}
