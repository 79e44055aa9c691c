import CBLAS
import Foundation

/// OpenBLAS setup, done once before the first matrix product.
///
/// Two things matter for speed on this project's machines:
/// - OpenBLAS 0.3.21's runtime CPU detection does not know recent Xeons (family 6, model 207)
///   and falls back to its SSE3 "Prescott" kernels, about 6× slower than the AVX-512 ones.
///   When the user has not chosen (`OPENBLAS_CORETYPE` unset) and the fallback was taken, we pick
///   the kernel the CPU supports and re-run OpenBLAS's kernel selection.
/// - Kernels parallelize every product themselves (rows split over `Parallel.workers`), so
///   OpenBLAS runs single-threaded: one thread pool, no spinning BLAS threads competing with the
///   element-wise kernels.
public enum BLAS {
    /// The OpenBLAS kernel family in use (e.g. "Cooperlake", "Haswell").
    public static var coreName: String { _ = configured; return currentCoreName() }

    private static let configured: Void = {
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
           currentCoreName().lowercased() == "prescott",
           let better = preferredCoreType() {
            setenv("OPENBLAS_CORETYPE", better, 1)
            gotoblas_dynamic_quit()
            gotoblas_dynamic_init()
        }
        openblas_set_num_threads(1)
    }()

    /// Call before using OpenBLAS directly; every kernel in this module calls it.
    @inline(__always)
    public static func ensureConfigured() { _ = configured }

    private static func currentCoreName() -> String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The best OpenBLAS 0.3.21 kernel family this CPU can run, from /proc/cpuinfo's flags.
    private static func preferredCoreType() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            return nil
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
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
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
