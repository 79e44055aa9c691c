import ArgumentParser
import BERT
import Foundation
import Support
import Kernels

/// `bertqa bench ...`: benchmarks (never tests). Each verb prints readable figures, or one
/// JSON object with `--json`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput: tokenizer, SQuAD features, inference, training, matrix products.",
        subcommands: [
            // Each bench verb lives in its own file: Bench<Name>Command.swift.
            BenchTokenizeCommand.self,
            BenchAnswerCommand.self,
            BenchFeaturesCommand.self,
            BenchInferCommand.self,
            BenchTrainCommand.self,
            BenchGemmCommand.self,
            BenchAllreduceCommand.self,
        ]
    )
}

/// The model a bench verb runs: a checkpoint folder or Hub id, or a built-in shape with seeded
/// random weights (no download, the same work as the real model).
enum BenchModel: ExpressibleByArgument, CustomStringConvertible {
    case folder(String)
    case shape(name: String, config: BertConfig)

    static let shapes: [(name: String, config: BertConfig)] = [
        ("bert-base", .bertBase), ("minilm-shape", .miniLML6), ("roberta-base", .base(.roberta)),
        ("xlm-roberta-base", .base(.xlmRoberta)), ("electra-base", .base(.electra)),
        ("distilbert-base", .base(.distilbert)), ("albert-base", .base(.albert)), ("deberta-v3-base", .debertaV3Base),
    ]

    init?(argument: String) {
        if let shape = Self.shapes.first(where: { $0.name == argument }) {
            self = .shape(name: shape.name, config: shape.config)
        } else {
            self = .folder(argument)
        }
    }

    var description: String {
        switch self {
        case .folder(let model): model
        case .shape(let name, _): name
        }
    }

    func load(revision: RevisionOption) throws -> BertForQuestionAnswering {
        switch self {
        case .folder(let model): try BertForQuestionAnswering.load(from: revision.folder(model)).model
        case .shape(_, let config): try BertForQuestionAnswering(config: config, seed: 0)
        }
    }
}

/// The % figure's reference: the machine's fp32 peak in GFLOP/s, when the user gives one (it
/// differs by CPU and core count; there is no default to be wrong about). bf16 and int8 products
/// run on other units, so their figures can pass 100 % of it: the text says "fp32 ceiling".
struct CeilingOption: ParsableArguments {
    @Option(parsing: .unconditional, help: "This machine's fp32 peak in GFLOP/s, to also print each figure as a % of it.")
    var ceiling: Double?

    func validate() throws {
        if let ceiling, !(ceiling > 0) { throw ValidationError("--ceiling must be positive") }
    }

    /// " = N % of the C GFLOP/s fp32 ceiling", or nothing.
    func percentText(_ gflops: Double) -> String {
        ceiling.map { String(format: " = %.0f %% of the %.0f GFLOP/s fp32 ceiling", 100 * gflops / $0, $0) } ?? ""
    }

    /// `,"percent_of_ceiling":N`, or nothing.
    func percentJSON(_ gflops: Double) -> [(key: String, value: JSONValue)] {
        ceiling.map { [("percent_of_ceiling", decimals(100 * gflops / $0))] } ?? []
    }
}

/// What `bench infer` and `bench train` share: the model (folder or built-in shape), the batch
/// shape, the machine's ceiling for the % figure, and JSON output.
struct BenchModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A model folder or Hub id, or a built-in shape with random weights.",
                               discussion: "Built-in shapes: \(BenchModel.shapes.map(\.name).joined(separator: ", ")).",
                               valueName: "folder-or-shape"))
    var model: BenchModel

    @OptionGroup var revisionOption: RevisionOption

    @Option(name: [.customLong("batch-size"), .customLong("batch")], parsing: .unconditional, help: "Windows per batch.")
    var batch: Int = 16

    @Option(name: [.customLong("max-seq-len"), .customLong("seq")], parsing: .unconditional, help: "Tokens per window (all windows full).")
    var seq: Int = 384

    @OptionGroup var ceiling: CeilingOption

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also print where the time goes, per kind of operation.")
    var profile = false

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch-size must be at least 1") }
        if seq < 1 { throw ValidationError("--max-seq-len must be at least 1") }
    }

    /// The model and one batch of random full windows for it, or a one-line CLI error.
    func modelAndBatch() throws -> (model: BertForQuestionAnswering, batch: BertBatch) {
        let net = try CLIError.wrap { try model.load(revision: revisionOption) }
        guard seq <= net.config.maxSequenceLength else {
            throw CLIError(description: "--max-seq-len \(seq) exceeds the model's positions (max_position_embeddings) \(net.config.maxSequenceLength)")
        }
        return (net, try CLIError.wrap { try randomBatch(net.config) })
    }

    /// Full windows (no padding): random ids, question-then-context token types.
    func randomBatch(_ config: BertConfig) throws -> BertBatch {
        var rng = SeededGenerator(seed: 42)
        let n = batch * seq
        let low = min(1000, config.vocabSize - 1)
        let ids = (0..<n).map { _ in Int32(low + Int(rng.next() % UInt64(config.vocabSize - low))) }
        let types = (0..<n).map { Int32(($0 % seq) >= seq / 4 && config.usesTokenTypes && config.typeVocabSize > 1 ? 1 : 0) }
        return try BertBatch(batchSize: batch, sequenceLength: seq, inputIDs: ids, tokenTypeIDs: types)
    }
}

/// `--profile` output shared by the bench verbs: one line per kind of operation, its time per
/// run (batch or step), its share of `periodSeconds`, its calls per run, and for the matrix
/// products and attention their GFLOP/s (where the products lose speed in situ).
func printOperations(_ ops: OperationProfile, runs: Int, periodSeconds: Double) {
    for e in ops.entries {
        let seconds = e.seconds / Double(runs)
        let rate = e.flops > 0 ? String(format: "  %6.1f GFLOP/s", e.flops / e.seconds / 1e9) : ""
        print("  " + e.operation.rawValue.padding(toLength: 42, withPad: " ", startingAt: 0)
            + String(format: "%9.2f ms  %5.1f %%  (%d calls)", seconds * 1000, 100 * seconds / periodSeconds, e.calls / runs)
            + rate)
    }
}

/// The same as JSON members: "operation": ms per run.
func operationsJSON(_ ops: OperationProfile, runs: Int) -> [(key: String, value: JSONValue)] {
    ops.entries.map { ($0.operation.rawValue, decimals($0.seconds / Double(runs) * 1000)) }
}

/// A measured figure for JSON output, rounded to `places` decimals (more would be noise).
func decimals(_ x: Double, _ places: Int = 2) -> JSONValue {
    let scale = pow(10, Double(places))
    return .double((x * scale).rounded() / scale)
}

/// What every bench report names first: the CPU, the cores and the product library's code paths.
var machineJSON: [(key: String, value: JSONValue)] {
    [("cpu", .string(HostCPU.current.description)), ("cores", .int(ProcessInfo.processInfo.activeProcessorCount)),
     ("gemm_library", .string(GEMM.library)), ("instruction_sets", .string(GEMM.instructionSets))]
}
