import KernelCore

/// The vector kernels of this module: the loops of Sources/VectorKernels, built once per
/// instruction set — as VectorKernels (the portable baseline: SSE2 on x86-64, NEON on
/// aarch64), VectorKernelsAVX2 (AVX2 + FMA, Haswell and Zen on) and VectorKernelsAVX512
/// (skylake-avx512) — from one source: Sources/VectorKernelsAVX2 and Sources/VectorKernelsAVX512
/// are links to this folder. Package.swift gives each its `-target-cpu` and its compile
/// conditions (BERTQA_FMA, BERTQA_AVX512), which the loops read where a path wants other
/// blocking than another. `Kernels` chooses one at start-up (`KernelPath`).
public enum SIMDKernels: KernelSet {
    /// The instructions this build of the loops uses, for reports.
    public static var instructionSet: String {
        #if BERTQA_AVX512
        return "avx512"
        #elseif BERTQA_FMA && arch(x86_64)
        return "avx2+fma"
        #elseif arch(arm64)
        return "neon"
        #else
        return "sse2"
        #endif
    }
}
