import ArgumentParser
import BERT
import Foundation
import Kernels
import Training

/// `bertqa bench infer`: forward passes of BertForQuestionAnswering on full-length random
/// windows; ms per batch, sequences/s, GFLOP/s against the machine's fp32 ceiling, peak RSS.
struct BenchInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Inference speed: forward passes of a BERT QA model on random full-length windows."
    )

    @OptionGroup var shape: BenchModelOptions

    @Option(parsing: .unconditional, help: "Timed forward passes (after one warm-up pass).")
    var iterations: Int = 10

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let (net, input) = try shape.modelAndBatch()
        let (config, batch, seq, ceiling) = (net.config, shape.batch, shape.seq, shape.ceiling)
        let workspace = try CLIError.wrap { try BertWorkspace(config: config, maxBatch: batch, maxSequence: seq) }
        try CLIError.wrap { try net.forward(input, workspace: workspace) }  // warm-up: page in, BLAS setup
        let ops = OperationProfile()
        if shape.profile { workspace.profile = ops }

        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try CLIError.wrap { try net.forward(input, workspace: workspace) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let mean = times.reduce(0, +) / Double(times.count)
        let best = times.min() ?? mean
        let flops = net.forwardFLOPs(batch: batch, sequence: seq)
        let gflops = flops / mean / 1e9
        let rss = peakRSSMegabytes()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if shape.json {
            print("{\"model\":\(JSONText.string(shape.model)),\"batch\":\(batch),\"seq\":\(seq),\"iterations\":\(iterations),"
                + "\"cores\":\(cores),\"gemm_library\":\(JSONText.string(GEMM.library)),"
                + "\"ms_per_batch\":\(fmt(mean * 1000)),\"best_ms_per_batch\":\(fmt(best * 1000)),"
                + "\"sequences_per_second\":\(fmt(Double(batch) / mean)),"
                + "\"gflop_per_batch\":\(fmt(flops / 1e9)),\"gflops\":\(fmt(gflops)),"
                + "\"percent_of_ceiling\":\(fmt(100 * gflops / ceiling)),\"peak_rss_mb\":\(fmt(rss))"
                + (shape.profile ? ",\"profile_ms_per_batch\":{" + operationsJSON(ops, runs: iterations).joined(separator: ",") + "}" : "")
                + "}")
        } else {
            print("model \(shape.model): \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), "
                + "\(config.numAttentionHeads) heads, FFN \(config.intermediateSize); batch \(batch) × \(seq); "
                + "\(cores) cores, \(GEMM.library)")
            print(String(format: "%.1f ms/batch (best %.1f), %.2f sequences/s", mean * 1000, best * 1000, Double(batch) / mean))
            print(String(format: "%.1f GFLOP/batch, %.1f GFLOP/s = %.0f %% of the %.0f GFLOP/s ceiling",
                         flops / 1e9, gflops, 100 * gflops / ceiling, ceiling))
            print(String(format: "peak RSS %.0f MB", rss))
            if shape.profile {
                print("per batch:")
                printOperations(ops, runs: iterations, periodSeconds: mean)
            }
        }
    }

    private func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}

