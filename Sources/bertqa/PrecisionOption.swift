import ArgumentParser
import BERT

extension InferencePrecision: ExpressibleByArgument {}

/// `--precision` and `--packed-weights`, for the verbs that only run a model forward (answer,
/// evaluate, serve, bench infer, bench gemm).
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Arithmetic of the encoder's matrix products: fp32, or bf16.",
        discussion: "bf16 runs them on the CPU's AMX units or bf16 dot products, 1.4–2.1× faster end to end on an AMX host (BENCHMARKS.md); opt-in: logits move by a few thousandths, not fp32 parity. Fails with a clear error on CPUs without bf16 kernels."))
    var precision: InferencePrecision = .fp32

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Pack a copy of the encoder's linear weights once for oneDNN's matmul kernels.",
        discussion: "fp32: the same arithmetic, 3–11 % faster products than sgemm on the weights as they are (BENCHMARKS.md), for the weights' memory once more; --no-packed-weights reads them directly. bf16 always packs."))
    var packedWeights = true

    mutating func validate() throws {
        if precision == .bf16 && !packedWeights {
            throw ValidationError("--precision bf16 needs packed weights; drop --no-packed-weights")
        }
    }

    /// Switches `model` to the chosen precision (a one-line CLI error when it cannot).
    func apply(to model: BertForQuestionAnswering) throws {
        guard packedWeights else { return model.releaseInferenceWeights() }
        // QuestionAnswerer(directory:) packed fp32 at load: not twice (two copies at once).
        if model.hasPackedInferenceWeights && model.inferencePrecision == precision { return }
        try CLIError.wrap { try model.setInferencePrecision(precision) }
    }
}
