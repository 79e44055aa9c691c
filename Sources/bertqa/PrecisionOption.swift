import ArgumentParser
import BERT
import Foundation
import Inference
import Kernels
import Support
import Tokenization

extension InferencePrecision: ExpressibleByArgument {}

/// `--precision` and `--packed-weights`, for the verbs that only run a model forward (answer,
/// evaluate, serve, bench infer, bench gemm).
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Arithmetic of the encoder's matrix products: fp32, bf16 or int8.",
        discussion: "bf16 runs them on the CPU's AMX units or bf16 dot products, 1.4–2.1× faster end to end on an AMX host (BENCHMARKS.md); opt-in: logits move by a few thousandths, not fp32 parity. Fails with a clear error on CPUs without bf16 kernels. int8 quantizes the encoder's linear weights per output channel at load and each input row when it runs, and on CPUs with VNNI also attention's two products per head (exact int32 sums; embeddings, softmax, LayerNorm and the QA head stay fp32); opt-in: logits move by a few hundredths, SQuAD EM/F1 within a point (BENCHMARKS.md, \"int8 inference\"). Fast where the CPU has VNNI (avx512_vnni, AMX); without it oneDNN's int8 kernels are no faster than fp32 and slower at one window (0.55–0.97× fp32's speed on an AMD EPYC Zen 1)."))
    var precision: InferencePrecision = .fp32

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Pack a copy of the encoder's linear weights once for oneDNN's own-layout kernels (default: where it pays on this CPU).",
        discussion: "fp32: the same arithmetic; products faster than sgemm on the weights as they are (AVX-512: oneDNN's matmul, 3–11 %; AVX2: its 1×1 convolution, 9–13 %; BENCHMARKS.md), so packed by default there; elsewhere sgemm. Packed, the fp32 copies' pages are given back: no more memory than unpacked. --packed-weights / --no-packed-weights force either. bf16 and int8 always pack."))
    var packedWeights: Bool?

    mutating func validate() throws {
        if precision != .fp32 && packedWeights == false {
            throw ValidationError("--precision \(precision.rawValue) needs packed weights; drop --no-packed-weights")
        }
        // oneDNN 2.6 has bf16 matrix kernels from AVX-512 up (fast with avx512_bf16 or AMX):
        // say so before anything loads, rather than let a kernel fail mid-way.
        if precision == .bf16 && !HostCPU.current.flags.contains("avx512f") {
            throw ValidationError("--precision bf16 needs a CPU with AVX-512 (best with avx512_bf16 or AMX); this one is \(HostCPU.current.description): use --precision fp32 (the default)")
        }
    }

    /// An inference snapshot of `model` in the chosen precision (a one-line CLI error when the
    /// CPU cannot).
    func inferenceModel(_ model: BertForQuestionAnswering) throws -> BertInferenceModel {
        noteInt8Speed()
        return try CLIError.wrap { try BertInferenceModel(model, precision: precision, packedWeights: packedWeights) }
    }

    /// The checkpoint folder's tokenizer and model, ready to answer in the chosen precision;
    /// what loading found (an untrained QA head) is said once on stderr, as transformers does.
    func answerer(_ directory: URL) throws -> QuestionAnswerer {
        noteInt8Speed()
        let started = Date()
        let answerer = try CLIError.wrap {
            try QuestionAnswerer(directory: directory, precision: precision, packedWeights: packedWeights)
        }
        for message in answerer.loadReport.messages { Console.warn(message) }
        Self.describe(answerer.model, tokenizer: answerer.tokenizer, from: directory, seconds: Date().timeIntervalSince(started))
        return answerer
    }

    /// int8 works on every x86-64 CPU, but without int8 dot products (VNNI) it is no faster than
    /// fp32 there: say so once, so nobody picks it for speed it cannot give.
    private func noteInt8Speed() {
        guard precision == .int8, !PackedLinear.hasInt8DotProducts else { return }
        Console.warn("this CPU has no int8 dot products (avx512_vnni or AMX), so --precision int8 is no faster than fp32 here and slower at one window (0.55–0.97× fp32's speed on an AVX2 host; BENCHMARKS.md, \"int8 inference\")")
    }

    /// With --verbose: what was loaded, from where, how, and how long it took.
    static func describe(_ model: BertInferenceModel, tokenizer: any QATokenizer, from directory: URL, seconds: Double) {
        let c = model.config
        Console.detail(String(format: "loaded %@ in %.2f s: %@, %d layers, hidden %d, %d heads, vocabulary %d (tokenizer %@); %@ products %@; resident %.0f MB",
                              directory.path, seconds, c.modelType.rawValue, c.numHiddenLayers, c.hiddenSize,
                              c.numAttentionHeads, c.vocabSize, String(describing: type(of: tokenizer)),
                              model.precision.rawValue,
                              model.productsDescription, residentMegabytes()))
    }
}
