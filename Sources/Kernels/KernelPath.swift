import CDNNL
import Foundation
import VectorKernels
#if arch(x86_64)
import VectorKernelsAVX2
import VectorKernelsAVX512
#endif

/// Which build of the vector kernels (softmax, GELU, LayerNorm, attention and their backward
/// passes) runs: the same Swift source compiled for AVX-512, for AVX2 + FMA, and for the
/// portable baseline. Chosen once at start-up from the CPU, as oneDNN chooses its own kernels,
/// so one binary runs on any x86-64 CPU and uses the widest registers it has.
///
/// `BERTQA_KERNELS=avx512|avx2|portable` asks for a path (to measure or test one on a CPU that
/// has a wider one); `ONEDNN_MAX_CPU_ISA`, oneDNN's own cap, caps ours too (AVX2 → avx2, SSE41
/// or AVX → portable), so one variable runs an AVX-512 host down the AVX2 paths of both.
public enum KernelPath: String, CaseIterable, Sendable {
    case avx512
    case avx2
    case portable

    /// The kernel set of the path currently chosen; every public kernel forwards to it.
    nonisolated(unsafe) public private(set) static var kernels: any KernelSet.Type = chosen.kernelSet

    /// The path the kernels run on now: the one chosen at start-up unless a test or a benchmark
    /// switched it (`use`).
    nonisolated(unsafe) public private(set) static var current: KernelPath = chosen

    /// The path chosen at start-up (see the type's comment). A `BERTQA_KERNELS` request this CPU
    /// cannot meet is said once on stderr.
    public static let chosen: KernelPath = {
        let environment = ProcessInfo.processInfo.environment
        let (path, note) = choose(request: environment["BERTQA_KERNELS"], oneDNNCap: environment["ONEDNN_MAX_CPU_ISA"])
        if let note { FileHandle.standardError.write(Data("bertqa: \(note)\n".utf8)) }
        return path
    }()

    /// Runs the kernels on `path` from now on. Only between kernel calls (tests, benchmarks):
    /// a kernel running meanwhile on another thread would mix the two paths' roundings.
    /// Throws when this CPU cannot execute the path.
    public static func use(_ path: KernelPath) throws {
        guard path.isSupported else { throw KernelPathError.unsupported(path) }
        kernels = path.kernelSet
        current = path
    }

    /// The paths this CPU can execute, fastest first (always ends with `portable`).
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// Whether this CPU can execute the path's instructions: from the flags Linux lists in
    /// /proc/cpuinfo (the features the kernel enabled, AVX-512's register state included), or,
    /// where there is none, from the instruction set oneDNN detected.
    public var isSupported: Bool {
        #if arch(x86_64)
        let cpu = HostCPU.current
        switch self {
        case .avx512:
            // What `-target-cpu skylake-avx512` compiles for (oneDNN's avx512_core).
            return cpu.has(["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx2", "fma"])
                ?? (dnnl_get_effective_cpu_isa().rawValue & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue)
        case .avx2:
            return cpu.has(["avx2", "fma", "bmi2"])
                ?? (dnnl_get_effective_cpu_isa().rawValue & dnnl_cpu_isa_avx2.rawValue == dnnl_cpu_isa_avx2.rawValue)
        case .portable:
            return true
        }
        #else
        return self == .portable
        #endif
    }

    /// "avx512", "avx2+fma", "sse2" or "neon": the instructions the path's loops use.
    public var instructionSet: String { kernelSet.instructionSet }

    private var kernelSet: any KernelSet.Type {
        #if arch(x86_64)
        switch self {
        case .avx512: return VectorKernelsAVX512.SIMDKernels.self
        case .avx2: return VectorKernelsAVX2.SIMDKernels.self
        case .portable: return VectorKernels.SIMDKernels.self
        }
        #else
        return VectorKernels.SIMDKernels.self
        #endif
    }

    /// The path for a `BERTQA_KERNELS` request and a `ONEDNN_MAX_CPU_ISA` cap on this CPU, and a
    /// note when the request cannot be met.
    public static func choose(request: String?, oneDNNCap: String?) -> (path: KernelPath, note: String?) {
        var best = supported.first ?? .portable
        if let cap = oneDNNCap?.uppercased(), !cap.isEmpty {
            if cap.hasPrefix("AVX2") { best = best == .avx512 ? .avx2 : best }
            else if cap == "SSE41" || cap == "AVX" { best = .portable }
        }
        guard let request, !request.isEmpty else { return (best, nil) }
        guard let asked = KernelPath(rawValue: request.lowercased()) else {
            return (best, "BERTQA_KERNELS=\(request) is not a kernel path (avx512, avx2, portable): using \(best.rawValue)")
        }
        guard asked.isSupported else {
            return (best, "BERTQA_KERNELS=\(request): this CPU cannot run it (\(HostCPU.current.description)): using \(best.rawValue)")
        }
        return (asked, nil)
    }
}

/// A kernel path this CPU cannot execute.
public enum KernelPathError: Error, CustomStringConvertible {
    case unsupported(KernelPath)

    public var description: String {
        switch self {
        case .unsupported(let path):
            "the \(path.rawValue) kernels need instructions this CPU lacks (\(HostCPU.current.description))"
        }
    }
}

/// Whether this CPU runs bf16 products in hardware: avx512_bf16 dot products or AMX tiles
/// (oneDNN's "avx512_core_bf16" and up). Elsewhere oneDNN would emulate them on AVX-512 at
/// below fp32's speed, or not run them at all (AVX2): bf16 training refuses to start there.
public enum BF16Products {
    public static var available: Bool { GEMM.oneDNNUses(dnnl_cpu_isa_avx512_core_bf16) }

    /// Why bf16 training cannot run here ("needs a CPU with …; this one runs …", to follow what
    /// was asked for), or nil where it can: the one check and text every refusal uses.
    public static var unavailable: String? {
        available ? nil : "needs a CPU with avx512_bf16 or AMX instructions; this one runs \(GEMM.instructionSets)"
    }
}

extension GEMM {
    /// The instruction sets this process computes with, for reports: oneDNN's (chosen at run
    /// time from the CPU, capped by `ONEDNN_MAX_CPU_ISA`) and our own kernels' (`KernelPath`).
    /// Results are bit-identical run to run on one CPU and path; across instruction sets they
    /// differ in the last bits (oneDNN's AVX2 and AVX-512 kernels sum in other orders).
    public static var instructionSets: String {
        "oneDNN \(oneDNNInstructionSet), kernels \(KernelPath.current.instructionSet)"
    }
}
