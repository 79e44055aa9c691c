import ArgumentParser
import BERT
import Foundation
import Kernels
import Support
import Training

/// `bertqa bench train`: full training steps of BertForQuestionAnswering on random full-length
/// windows: training forward with dropout, QA loss, backward, gradient clipping, AdamW.
/// Reports ms per step, sequences/s, GFLOP/s (3× the forward's FLOPs) against the machine's
/// fp32 ceiling, and peak RSS.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training speed: forward + loss + backward + clip + AdamW steps on random full-length windows.",
        usage: "bertqa bench train --model <folder-or-shape> [<options>]"
    )

    @OptionGroup var shape: BenchModelOptions

    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step).")
    var steps: Int = 5

    @Flag(help: "The encoder's linear layers in bfloat16, as `train --bf16` (needs avx512_bf16 or AMX).")
    var bf16 = false

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if bf16, let why = BF16Products.unavailable { throw ValidationError("--bf16 \(why)") }
    }

    func run() throws {
        let (net, input) = try shape.modelAndBatch()
        let (config, batch, seq, profile) = (net.config, shape.batch, shape.seq, shape.profile)
        let workspace = try CLIError.wrap {
            try BertWorkspace(config: config, maxBatch: batch, maxSequence: seq, saveForBackward: true)
        }
        workspace.bf16Products = bf16
        let gradients = FloatBuffer(count: net.layout.totalCount)
        let optimizer = AdamW(layout: net.layout, weightDecay: 0.01)
        // Answers somewhere in each window, as SQuAD features have them.
        let starts = (0..<batch).map { (seq / 2 + 7 * $0) % seq }, ends = starts.map { min($0 + 3, seq - 1) }
        let phases = PhaseTimes()

        func step(_ k: Int) throws {
            try phases.measure("forward (training, dropout)") {
                try net.forward(input, workspace: workspace, dropoutSeed: UInt64(k))
            }
            let loss = try phases.measure("loss") {
                try net.qaLoss(startPositions: starts, endPositions: ends, workspace: workspace)
            }
            guard loss.isFinite else { throw CLIError(description: "the loss became \(loss) at step \(k)") }
            phases.measure("zero gradients") { gradients.zero() }
            try phases.measure("backward") { try net.backward(workspace: workspace, gradients: gradients) }
            // As the trainer does: the norm, then AdamW with the clipping coefficient folded in.
            let norm = phases.measure("gradient norm") { gradientNorm(gradients, layout: net.layout) }
            phases.measure("AdamW (+ clipping)") {
                optimizer.update(parameters: net.parameters, gradients: gradients, lr: 3e-5,
                                 gradientScale: clipCoefficient(norm: norm, maxNorm: 1))
            }
        }
        try CLIError.wrap { try step(0) }  // warm-up: page in, BLAS setup
        phases.reset()
        let ops = OperationProfile()
        if profile { workspace.profile = ops }

        var times: [Double] = []
        for k in 1...steps {
            times.append(try secondsTaken { try CLIError.wrap { try step(k) } })
        }
        let mean = times.reduce(0, +) / Double(times.count)
        let best = times.min() ?? mean
        let flops = 3 * net.forwardFLOPs(batch: batch, sequence: seq)
        let gflops = flops / mean / 1e9
        let rss = peakRSSMegabytes()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if shape.json {
            var report: [(key: String, value: JSONValue)] = [
                ("model", .string(shape.model.description)), ("batch", .int(batch)), ("seq", .int(seq)), ("steps", .int(steps)),
                ("precision", .string(bf16 ? "bf16" : "fp32")),
            ] + machineJSON + [
                ("ms_per_step", decimals(mean * 1000)), ("best_ms_per_step", decimals(best * 1000)),
                ("sequences_per_second", decimals(Double(batch) / mean)),
                ("gflop_per_step", decimals(flops / 1e9)), ("gflops", decimals(gflops)), ("peak_rss_mb", decimals(rss)),
            ] + shape.ceiling.percentJSON(gflops)
            if profile {
                let items = phases.entries.map { (key: $0.name, value: decimals($0.seconds / Double(steps) * 1000)) }
                report.append(("profile_ms_per_step", .object(items + operationsJSON(ops, runs: steps))))
            }
            print(JSONValue.object(report).compactText)
        } else {
            print("model \(shape.model): \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), "
                + "\(config.numAttentionHeads) heads, FFN \(config.intermediateSize), dropout \(config.hiddenDropoutProb)/"
                + "\(config.attentionProbsDropoutProb); batch \(batch) × \(seq); \(bf16 ? "bf16" : "fp32") products; \(cores) cores, \(GEMM.library); \(GEMM.instructionSets)")
            print(String(format: "%.1f ms/step (best %.1f), %.2f sequences/s", mean * 1000, best * 1000, Double(batch) / mean))
            print(String(format: "%.1f GFLOP/step (3× forward), %.1f GFLOP/s", flops / 1e9, gflops) + shape.ceiling.percentText(gflops))
            print(String(format: "peak RSS %.0f MB", rss))
            if profile { printProfile(phases, ops, stepSeconds: mean) }
        }
    }

    private func printProfile(_ phases: PhaseTimes, _ ops: OperationProfile, stepSeconds: Double) {
        let n = Double(steps)
        print("per step:")
        for e in phases.entries {
            print("  " + e.name.padding(toLength: 42, withPad: " ", startingAt: 0)
                + String(format: "%9.1f ms  %5.1f %%", e.seconds / n * 1000, 100 * e.seconds / n / stepSeconds))
        }
        print("inside forward and backward:")
        printOperations(ops, runs: steps, periodSeconds: stepSeconds)
    }

}

/// Wall time of the phases of a training step, in first-seen order.
private final class PhaseTimes {
    private(set) var entries: [(name: String, seconds: Double)] = []

    func reset() { entries.removeAll() }

    func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if let i = entries.firstIndex(where: { $0.name == name }) { entries[i].seconds += s } else { entries.append((name, s)) }
        }
        return try body()
    }
}
