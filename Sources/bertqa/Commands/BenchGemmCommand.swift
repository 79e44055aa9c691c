import ArgumentParser
import Foundation
import Support
import Kernels

/// `bertqa bench gemm`: the linear layer's product alone (out = inp · Wᵀ + b) at the shapes of a
/// BERT layer, against the machine's fp32 ceiling, as inference runs it on this CPU (`PackedLinear`:
/// weights packed once, where that pays; else `matmulForward`: sgemm on the weights as they are,
/// split over the cores, as training runs it). --packed-weights / --no-packed-weights force either. Matrix products are ~75 % of a forward pass; this
/// isolates them.
struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Matrix-product speed at BERT-layer shapes (rows × in → out), as the model runs them.",
        usage: "bertqa bench gemm [--shapes <shapes>] [<options>]",
        discussion: """
        Default shapes: MiniLM-L6 at one 384-token window (q|k|v, attention output, FFN up, FFN \
        down) and the same for 16 windows. Compare with scripts/bench/bench_torch_gemm.py \
        (PyTorch/MKL). Inference's path on this CPU by default (weights packed once where that pays); \
        --packed-weights / --no-packed-weights force the packed path or training's (sgemm).
        """
    )

    @Option(parsing: .unconditional,
            help: "Shapes as rows×in×out, comma-separated, sizes 1–65536, e.g. 384x384x1152,6144x384x1536 (default: MiniLM-L6's four products at 1 and 16 windows).")
    var shapes: GemmShapes?

    @Option(parsing: .unconditional, help: "Seconds to time each shape.")
    var seconds = 1.0

    @OptionGroup var ceiling: CeilingOption

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        if !(seconds > 0) { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        var results: [JSONValue] = []
        for (rows, inF, outF) in (shapes ?? .miniLM).shapes {
            var random = SeededGenerator(seed: 1)
            func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1 ... 1, using: &random) } }
            let x = values(rows * inF), w = values(outF * inF), b = values(outF)
            var y = [Float](repeating: 0, count: rows * outF)
            // Packed: the product on weights packed once (bf16: and the input's rounding pass; int8:
            // the input's quantization and the rows' scaling), as
            // the model's inference layers run them; --no-packed-weights: sgemm on the weights as they are.
            let precision = precisionOption.precision
            var staging = [UInt8](repeating: 0, count: PackedLinear.stagingBytes(precision: precision, rows: rows, inFeatures: inF))
            let layer = precisionOption.packedWeights ?? PackedLinear.paysOff(for: precisionOption.precision)
                ? try CLIError.wrap { try PackedLinear(weight: w, bias: b, inFeatures: inF, outFeatures: outF,
                                                       precision: precision) } : nil
            let scratchpad = PackedScratchpad()
            func product() throws {
                if let layer {
                    try layer.forward(out: &y, fp32Input: x, rows: rows, staging: &staging, scratchpad: scratchpad)
                } else {
                    matmulForward(out: &y, inp: x, weight: w, bias: b, rows: rows, inFeatures: inF, outFeatures: outF)
                }
            }
            try CLIError.wrap { try product() }  // warm-up
            let start = DispatchTime.now().uptimeNanoseconds
            var calls = 0, elapsed = 0.0
            repeat {
                try CLIError.wrap { try product() }
                calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < seconds
            let gflops = 2 * Double(rows * inF * outF) * Double(calls) / elapsed / 1e9
            let path = layer.map { "packed weights, oneDNN \($0.primitiveDescription)" } ?? "sgemm on the weights"
            if json {
                results.append(.object([("rows", .int(rows)), ("in", .int(inF)), ("out", .int(outF)), ("path", .string(path)),
                                        ("ms", decimals(elapsed / Double(calls) * 1000, 3)), ("gflops", decimals(gflops, 1))]))
            } else {
                print(String(format: "%5d × %4d → %4d  %8.3f ms  %6.1f GFLOP/s", rows, inF, outF,
                             elapsed / Double(calls) * 1000, gflops) + ceiling.percentText(gflops) + "  (\(path))")
            }
        }
        if json {
            let report: [(key: String, value: JSONValue)] = [("precision", .string(precisionOption.precision.rawValue)),
                ("cores", .int(Parallel.workers)), ("gemm_library", .string(GEMM.library)),
                ("instruction_sets", .string(GEMM.instructionSets)), ("shapes", .array(results))]
            print(JSONValue.object(report).compactText)
        }
    }
}

/// `--shapes`: products as rows×in×out, parsed once, when the command line is read.
struct GemmShapes: ExpressibleByArgument {
    let shapes: [(rows: Int, inFeatures: Int, outFeatures: Int)]

    /// MiniLM-L6's four products at one 384-token window, then at 16.
    static let miniLM = GemmShapes(shapes: [(384, 384, 1152), (384, 384, 384), (384, 384, 1536), (384, 1536, 384),
                                            (6144, 384, 1152), (6144, 384, 384), (6144, 384, 1536), (6144, 1536, 384)])

    init(shapes: [(rows: Int, inFeatures: Int, outFeatures: Int)]) { self.shapes = shapes }

    init?(argument: String) {
        var parsed: [(rows: Int, inFeatures: Int, outFeatures: Int)] = []
        for item in argument.split(separator: ",") {
            let parts = item.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else { return nil }
            parsed.append((parts[0], parts[1], parts[2]))
        }
        guard !parsed.isEmpty else { return nil }
        shapes = parsed
    }

    var defaultValueDescription: String {
        shapes.map { "\($0.rows)x\($0.inFeatures)x\($0.outFeatures)" }.joined(separator: ",")
    }
}
