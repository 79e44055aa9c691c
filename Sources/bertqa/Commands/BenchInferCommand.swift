import ArgumentParser
import BERT
import Foundation
import Kernels
import Support
import Training

/// `bertqa bench infer`: forward passes of BertForQuestionAnswering on full-length random
/// windows; ms per batch, sequences/s, GFLOP/s (and % of the machine's fp32 peak with --ceiling), peak RSS.
struct BenchInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Inference speed: forward passes of a BERT QA model on random full-length windows.",
        usage: "bertqa bench infer --model <folder-or-shape> [<options>]"
    )

    @OptionGroup var shape: BenchModelOptions

    @Option(parsing: .unconditional, help: "Timed forward passes (after one warm-up pass).")
    var iterations: Int = 10

    @OptionGroup var precisionOption: PrecisionOption

    @Flag(help: ArgumentHelp(
        "Instead of --iterations: after the warm-up print {\"ready\":true}, then for each line of standard input (a count n, 1 if empty) run n timed passes and print {\"ms\":[...]}.",
        discussion: "For drivers that interleave bertqa with a peer pass by pass (scripts/bench/bench_paired.py)."))
    var onRequest = false

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if onRequest && (shape.json || shape.profile) { throw ValidationError("--on-request prints its own JSON lines; drop --json and --profile") }
    }

    func run() throws {
        let (trainable, input) = try shape.modelAndBatch()
        let net = try precisionOption.inferenceModel(trainable)
        let precision = precisionOption.precision
        let (config, batch, seq) = (net.config, shape.batch, shape.seq)
        let workspace = try CLIError.wrap { try BertWorkspace(config: config, maxBatch: batch, maxSequence: seq) }
        try CLIError.wrap { try net.forward(input, workspace: workspace) }  // warm-up: page in, BLAS setup
        if onRequest { return try serveRequests(net, input, workspace) }
        let ops = OperationProfile()
        if shape.profile { workspace.profile = ops }

        var times: [Double] = []
        for _ in 0..<iterations {
            times.append(try secondsTaken { try CLIError.wrap { try net.forward(input, workspace: workspace) } })
        }
        let mean = times.reduce(0, +) / Double(times.count)
        let best = times.min() ?? mean
        let flops = net.forwardFLOPs(batch: batch, sequence: seq)
        let gflops = flops / mean / 1e9
        let rss = peakRSSMegabytes(), resident = residentMegabytes()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if shape.json {
            let report: [(key: String, value: JSONValue)] = [
                ("model", .string(shape.model.description)), ("batch", .int(batch)), ("seq", .int(seq)),
                ("iterations", .int(iterations)), ("precision", .string(precision.rawValue)),
                ("packed_weights", .bool(net.hasPackedWeights)),
            ] + machineJSON + [
                ("ms_per_batch", decimals(mean * 1000)), ("best_ms_per_batch", decimals(best * 1000)),
                ("sequences_per_second", decimals(Double(batch) / mean)),
                ("gflop_per_batch", decimals(flops / 1e9)), ("gflops", decimals(gflops)), ("peak_rss_mb", decimals(rss)),
                ("rss_mb", decimals(resident)), ("released_weights_mb", decimals(Double(net.releasedWeightBytes) / 1_048_576)),
            ] + shape.ceiling.percentJSON(gflops)
                + (shape.profile ? [("profile_ms_per_batch", .object(operationsJSON(ops, runs: iterations)))] : [])
            print(JSONValue.object(report).compactText)
        } else {
            print("model \(shape.model): \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), "
                + "\(config.numAttentionHeads) heads, FFN \(config.intermediateSize); batch \(batch) × \(seq); "
                + "\(precision.rawValue) \(net.productsDescription), "
                + "\(cores) cores, \(GEMM.library); \(GEMM.instructionSets)")
            print(String(format: "%.1f ms/batch (best %.1f), %.2f sequences/s", mean * 1000, best * 1000, Double(batch) / mean))
            print(String(format: "%.1f GFLOP/batch, %.1f GFLOP/s", flops / 1e9, gflops) + shape.ceiling.percentText(gflops))
            print(String(format: "peak RSS %.0f MB, resident %.0f MB after the passes", rss, resident)
                + (net.releasedWeightBytes > 0
                    ? String(format: " (%.0f MB of fp32 linear weights released once packed)", Double(net.releasedWeightBytes) / 1_048_576) : ""))
            if shape.profile {
                print("per batch:")
                printOperations(ops, runs: iterations, periodSeconds: mean)
            }
        }
    }

    /// `--on-request`: timed passes when asked, one JSON line per request, flushed at once (the
    /// driver waits for it). Between requests no thread works, so a peer timed meanwhile has the
    /// cores (libgomp's workers spin ~10 ms after a region, then sleep; drivers pause longer).
    private func serveRequests(_ net: BertInferenceModel, _ input: BertBatch, _ workspace: BertWorkspace) throws {
        var output = BufferedOutput()
        output.write(JSONValue.object([("ready", .bool(true)),
                                       ("gflop_per_batch", decimals(net.forwardFLOPs(batch: shape.batch, sequence: shape.seq) / 1e9))]).compactText + "\n")
        output.flush()
        for (number, text) in InputLines() {
            let line = try text.get().trimmingCharacters(in: .whitespaces)
            guard let n = line.isEmpty ? 1 : Int(line), n >= 1 else {
                throw CLIError(description: "standard input line \(number): expected a pass count (a positive integer), got \(JSONWriter.string(line))")
            }
            var ms: [String] = []
            for _ in 0..<n {
                let seconds = try secondsTaken { try CLIError.wrap { try net.forward(input, workspace: workspace) } }
                ms.append(String(format: "%.3f", seconds * 1000))
            }
            output.write("{\"ms\":[" + ms.joined(separator: ",") + "]}\n")
            output.flush()
        }
    }
}

