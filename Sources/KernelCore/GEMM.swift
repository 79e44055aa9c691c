import CDNNL

/// The matrix-product library: oneDNN's `dnnl_sgemm` (JIT-compiled for the CPU it runs on).
///
/// Kernels call it on each tile of a product, inside a parallel region, where it runs on the
/// calling thread. Why oneDNN rather than OpenBLAS: it JIT-compiles for the CPU it finds at run
/// time (AVX2, AVX-512, AMX), so it needs no table of known CPUs to pick its kernels, and it ran
/// faster at the models' shapes (docs/benchmarks-history.md).
public enum GEMM {
    /// "oneDNN 2.6.3", for benchmark reports.
    public static var library: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN" }
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }

    /// The instruction set oneDNN chose at run time from the CPU (capped by `ONEDNN_MAX_CPU_ISA`).
    public static var oneDNNInstructionSet: String { isaName(dnnl_get_effective_cpu_isa()) }

    private static func isaName(_ isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_sse41: "sse41"
        case dnnl_cpu_isa_avx: "avx"
        case dnnl_cpu_isa_avx2: "avx2"
        case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
        case dnnl_cpu_isa_avx512_core: "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
        default: "isa 0x\(String(isa.rawValue, radix: 16))"
        }
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
