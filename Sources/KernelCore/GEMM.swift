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

    /// Whether oneDNN's effective instruction set (capped by `ONEDNN_MAX_CPU_ISA`) includes
    /// `isa`: the values are bit sets, each holding the ones below it.
    public static func oneDNNUses(_ isa: dnnl_cpu_isa_t) -> Bool {
        dnnl_get_effective_cpu_isa().rawValue & isa.rawValue == isa.rawValue
    }

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

/// `C (m×n, row stride ldc) = alpha · op(A) · op(B) + beta · C` with A and B in bfloat16 (their
/// 16 bits) and C in fp32: products of bf16 values are exact in fp32 and summed in fp32, so the
/// result is `sgemm` on the rounded operands up to summation order. oneDNN runs it on
/// avx512_bf16 dot products or AMX tiles (emulated, slowly, on other AVX-512 CPUs; callers check
/// `BF16Products.available` first).
@inline(__always)
public func gemmBF16(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<UInt16>, lda: Int,
    b: UnsafePointer<UInt16>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let status = dnnl_gemm_bf16bf16f32(
        transA ? 84 : 78, transB ? 84 : 78,
        Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    assert(status == dnnl_success, "dnnl_gemm_bf16bf16f32 failed (\(status)) for \(m)×\(n)×\(k)")
}

/// `C (m×n int32, row stride ldc) = A (m×k) · op(B)`, row-major, A and B signed 8-bit, the sums
/// exact in int32: oneDNN's `dnnl_gemm_s8s8s32`. Exact only where oneDNN has int8 dot products
/// (VNNI: `GEMM.oneDNNUses(dnnl_cpu_isa_avx512_core_vnni)`); elsewhere its kernels add pairs of
/// products in saturating 16-bit lanes, so callers check first.
@inline(__always)
public func gemmS8S8(
    transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Int8>, lda: Int,
    b: UnsafePointer<Int8>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int
) {
    var offset: Int32 = 0
    let status = dnnl_gemm_s8s8s32(78, transB ? 84 : 78, 70,  // "N", "T"/"N", "F": one C offset, 0
                                   Int64(m), Int64(n), Int64(k), 1, a, Int64(lda), 0, b, Int64(ldb), 0,
                                   0, c, Int64(ldc), &offset)
    assert(status == dnnl_success, "dnnl_gemm_s8s8s32 failed (\(status)) for \(m)×\(n)×\(k)")
}

/// `C (m×n int32, row stride ldc) = A (m×k) · B (k×n)`, A unsigned and B signed 8-bit, exact in
/// int32 where oneDNN has VNNI (as `gemmS8S8`): oneDNN's `dnnl_gemm_u8s8s32`.
@inline(__always)
public func gemmU8S8(
    m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, lda: Int,
    b: UnsafePointer<Int8>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int
) {
    var offset: Int32 = 0
    let status = dnnl_gemm_u8s8s32(78, 78, 70, Int64(m), Int64(n), Int64(k), 1, a, Int64(lda), 0, b, Int64(ldb), 0,
                                   0, c, Int64(ldc), &offset)
    assert(status == dnnl_success, "dnnl_gemm_u8s8s32 failed (\(status)) for \(m)×\(n)×\(k)")
}

/// The bfloat16 copies a training product reads instead of its fp32 operands (`bertqa train
/// --bf16`): fp32 master weights stay where they are; each product rounds what it multiplies.
public struct BF16Operands: @unchecked Sendable {
    /// The layer's weight (OC,C) rounded to bf16, prepared by the caller (once per step: the
    /// weights change only in the optimizer step).
    public let weight: UnsafePointer<UInt16>
    /// Scratch for the product's input rounded to bf16: at least rows × inFeatures.
    public let input: UnsafeMutablePointer<UInt16>
    /// Scratch for the output's gradient rounded to bf16 (backward): at least rows × outFeatures.
    public let gradient: UnsafeMutablePointer<UInt16>

    public init(weight: UnsafePointer<UInt16>, input: UnsafeMutablePointer<UInt16>, gradient: UnsafeMutablePointer<UInt16>) {
        self.weight = weight
        self.input = input
        self.gradient = gradient
    }
}
