import ArgumentParser
import BERT
import Foundation
import Kernels

/// `bertqa bench infer`: forward passes of BertForQuestionAnswering on full-length random
/// windows; ms per batch, sequences/s, GFLOP/s against the machine's fp32 ceiling, peak RSS.
struct BenchInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Inference speed: forward passes of a BERT QA model on random full-length windows."
    )

    @Option(help: "A model folder, or a built-in shape with random weights: bert-base, minilm-shape.")
    var model: String

    @Option(help: "Windows per batch.")
    var batch: Int = 16

    @Option(help: "Tokens per window.")
    var seq: Int = 384

    @Option(help: "Timed forward passes (after one warm-up pass).")
    var iterations: Int = 10

    @Option(help: "The machine's fp32 ceiling in GFLOP/s (OpenBLAS sgemm on all cores) for the % figure.")
    var ceiling: Double = 198

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if seq < 1 { throw ValidationError("--seq must be at least 1") }
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
                + "\"percent_of_ceiling\":\(fmt(100 * gflops / ceiling)),\"peak_rss_mb\":\(fmt(rss))}")
        } else {
            print("model \(model): \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), "
                + "\(config.numAttentionHeads) heads, FFN \(config.intermediateSize); batch \(batch) × \(seq); "
                + "\(cores) cores, OpenBLAS \(BLAS.coreName)")
            print(String(format: "%.1f ms/batch (best %.1f), %.2f sequences/s", mean * 1000, best * 1000, Double(batch) / mean))
            print(String(format: "%.1f GFLOP/batch, %.1f GFLOP/s = %.0f %% of the %.0f GFLOP/s ceiling",
                         flops / 1e9, gflops, 100 * gflops / ceiling, ceiling))
            print(String(format: "peak RSS %.0f MB", rss))
        }
    }

    private func loadModel() throws -> BertForQuestionAnswering {
        switch model {
        case "bert-base": return try BertForQuestionAnswering(config: .bertBase, seed: 0)
        case "minilm-shape": return try BertForQuestionAnswering(config: .miniLML6, seed: 0)
        default: return try BertForQuestionAnswering.load(from: URL(fileURLWithPath: model)).model
        }
    }

    /// Full windows (no padding): [CLS] question [SEP] context [SEP]-like type ids, random ids.
    private func randomBatch(_ config: BertConfig) throws -> BertBatch {
        var rng = SeededGenerator(seed: 42)
        let n = batch * seq
        let low = min(1000, config.vocabSize - 1)
        let ids = (0..<n).map { _ in Int32(low + Int(rng.next() % UInt64(config.vocabSize - low))) }
        let types = (0..<n).map { Int32(($0 % seq) >= seq / 4 && config.typeVocabSize > 1 ? 1 : 0) }
        return try BertBatch(batchSize: batch, sequenceLength: seq, inputIDs: ids, tokenTypeIDs: types)
    }

    private func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}

/// Peak resident set size of this process (VmHWM), in MB.
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
