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
    var model: String { shape.model }
    var batch: Int { shape.batch }
    var seq: Int { shape.seq }
    var ceiling: Double { shape.ceiling }
    var json: Bool { shape.json }

    @Option(parsing: .unconditional, help: "Timed forward passes (after one warm-up pass).")
    var iterations: Int = 10

    @Flag(help: "Also print where the time goes, per kind of operation.")
    var profile = false

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let net = try CLIError.wrap { try loadModel() }
        let config = net.config
        guard seq <= config.maxPositionEmbeddings else {
            throw CLIError(description: "--seq \(seq) exceeds the model's max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        let input = try CLIError.wrap { try randomBatch(config) }
        let workspace = try CLIError.wrap { try BertWorkspace(config: config, maxBatch: batch, maxSequence: seq) }
        try CLIError.wrap { try net.forward(input, workspace: workspace) }  // warm-up: page in, BLAS setup
        let ops = OperationProfile()
        if profile { workspace.profile = ops }

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
        if json {
            print("{\"model\":\(JSONText.string(model)),\"batch\":\(batch),\"seq\":\(seq),\"iterations\":\(iterations),"
                + "\"cores\":\(cores),\"blas_core\":\(JSONText.string(BLAS.coreName)),"
                + "\"ms_per_batch\":\(fmt(mean * 1000)),\"best_ms_per_batch\":\(fmt(best * 1000)),"
                + "\"sequences_per_second\":\(fmt(Double(batch) / mean)),"
                + "\"gflop_per_batch\":\(fmt(flops / 1e9)),\"gflops\":\(fmt(gflops)),"
                + "\"percent_of_ceiling\":\(fmt(100 * gflops / ceiling)),\"peak_rss_mb\":\(fmt(rss))"
                + (profile ? ",\"profile_ms_per_batch\":{" + ops.entries.map {
                    "\(JSONText.string($0.operation.rawValue)):\(fmt($0.seconds / Double(iterations) * 1000))"
                }.joined(separator: ",") + "}" : "") + "}")
        } else {
            print("model \(model): \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), "
                + "\(config.numAttentionHeads) heads, FFN \(config.intermediateSize); batch \(batch) × \(seq); "
                + "\(cores) cores, OpenBLAS \(BLAS.coreName)")
            print(String(format: "%.1f ms/batch (best %.1f), %.2f sequences/s", mean * 1000, best * 1000, Double(batch) / mean))
            print(String(format: "%.1f GFLOP/batch, %.1f GFLOP/s = %.0f %% of the %.0f GFLOP/s ceiling",
                         flops / 1e9, gflops, 100 * gflops / ceiling, ceiling))
            print(String(format: "peak RSS %.0f MB", rss))
            if profile {
                print("per batch:")
                for e in ops.entries {
                    let ms = e.seconds / Double(iterations) * 1000
                    print("  " + e.operation.rawValue.padding(toLength: 34, withPad: " ", startingAt: 0)
                        + String(format: "%8.2f ms  %5.1f %%  (%d calls)", ms, 100 * ms / (mean * 1000), e.calls / iterations))
                }
            }
        }
    }

    private func loadModel() throws -> BertForQuestionAnswering { try shape.loadModel() }

    private func randomBatch(_ config: BertConfig) throws -> BertBatch { try shape.randomBatch(config) }

    private func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}

