import CDNNL

/// The matrix-product library: oneDNN's `dnnl_sgemm` (JIT-compiled for the CPU it runs on).
///
/// Kernels call it on each worker's share of a product, inside a parallel region, where it runs
/// on the calling thread. Measured at the models' shapes in the same split, it runs 2–21 %
/// faster than OpenBLAS 0.3.21's AVX-512 kernels did (BENCHMARKS.md), and needs no help to
/// recognise recent Xeons (OpenBLAS 0.3.21 fell back to SSE3 kernels on family 6 model 207).
public enum GEMM {
    /// "oneDNN 2.6.3", for benchmark reports.
    public static var library: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN" }
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }
}

/// `C (m×n, row stride ldc) = alpha · op(A) · op(B) + beta · C`, row-major, single call.
@inline(__always)
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let status = dnnl_sgemm(
        transA ? 84 : 78, transB ? 84 : 78,  // "T" / "N"
        Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    // Only malformed arguments fail (a programming error: shapes come from the config).
    assert(status == dnnl_success, "dnnl_sgemm failed (\(status)) for \(m)×\(n)×\(k)")
}
