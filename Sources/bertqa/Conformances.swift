import ArgumentParser
import BERT
import Tokenization

extension TokenOffset: OffsetPair {
    var pairStart: Int { Int(start) }
    var pairEnd: Int { Int(end) }
}

extension InferencePrecision: ExpressibleByArgument {}

/// `--precision`, for the verbs that only run a model forward (answer, evaluate, serve, bench infer, bench gemm).
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Arithmetic of the encoder's matrix products: fp32, or bf16.",
        discussion: "bf16 runs them on the CPU's AMX units, 1.4–2.1× faster end to end here (BENCHMARKS.md); opt-in: logits move by a few thousandths, not fp32 parity. Fails with a clear error on CPUs without bf16 kernels."))
    var precision: InferencePrecision = .fp32

    /// Switches `model` to the chosen precision (a one-line CLI error when it cannot).
    func apply(to model: BertForQuestionAnswering) throws {
        try CLIError.wrap { try model.setInferencePrecision(precision) }
    }
}
