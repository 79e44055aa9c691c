import ArgumentParser
import Distributed
import Foundation
import Support
import Training

/// `bertqa train`: fine-tune a pretrained BERT on SQuAD (HF `run_qa.py` / Trainer semantics).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a pretrained encoder (BERT, RoBERTa, DeBERTa-v3, ...) for extractive QA on SQuAD.",
        usage: "bertqa train --model <folder-or-hub-id> --train-file <squad.json>\n--output <folder> [<options>]",
        discussion: """
        Writes to --output: the fine-tuned model in Hugging Face format (config.json, \
        model.safetensors, tokenizer files), checkpoints/checkpoint-<step>/ (model, optimizer, \
        trainer state; written atomically), training_log.jsonl, loss_curve.svg, \
        train_results.json and report.html (loss, learning rate and throughput curves, results). --resume continues from the latest complete checkpoint with \
        bit-identical results.

        Batches are padded to their longest window and grouped by length by default; \
        --no-dynamic-padding --no-group-by-length pad every batch to --max-seq-len, as run_qa.py \
        does. run_qa.py's spellings are accepted besides bertqa's (--max-seq-length, \
        --per-device-train-batch-size, --num-train-epochs, ...).

        Data-parallel over MPI: `mpirun -np N bertqa train ...` (or Slurm's `srun --mpi=pmix`)         runs N ranks, each on its share of every batch (--batch-size is per rank: a step takes         N × batch windows), the gradients summed over the ranks while the backward pass goes on;         rank 0 alone logs, evaluates and writes. The result is one process's with the global         batch. Open MPI is loaded only when launched under it; without MPI nothing changes.         Give each rank its threads (OMP_NUM_THREADS=cores/ranks, e.g. `mpirun -x OMP_NUM_THREADS=1`).
        """
    )

    @OptionGroup var modelOption: ModelOption
    @Option(help: "SQuAD JSON to train on.") var trainFile: String
    @Option(help: "SQuAD JSON for the validation loss (and --eval-metrics).") var validationFile: String?
    @Option(help: "Output folder.") var output: String
    @Option(parsing: .unconditional, help: "Use only the first N training questions.") var maxTrainSamples: Int?
    @Option(parsing: .unconditional, help: "Use only the first N validation questions.") var maxEvalSamples: Int?
    @Option(name: [.customLong("epochs"), .customLong("num-train-epochs")], parsing: .unconditional, help: "Training epochs.") var epochs = 3
    @Option(name: [.customLong("batch-size"), .customLong("per-device-train-batch-size")], parsing: .unconditional, help: "Windows per batch.") var batchSize = 16
    @Option(parsing: .unconditional, help: "Batches per optimizer step.") var gradientAccumulationSteps = 1
    @Option(parsing: .unconditional, help: "Peak learning rate (AdamW).") var learningRate = 3e-5
    @Option(parsing: .unconditional, help: "Decoupled weight decay (not on biases and LayerNorm weights).") var weightDecay = 0.01
    @Option(parsing: .unconditional, help: "Linear warmup steps.") var warmupSteps = 0
    @Option(parsing: .unconditional, help: "Linear warmup as a ratio of all steps (used when --warmup-steps is 0).") var warmupRatio = 0.0
    @Option(parsing: .unconditional, help: "Gradient clipping norm.") var maxGradNorm = 1.0
    @Option(parsing: .unconditional, help: "Seed for the QA head, data order and dropout.") var seed: UInt64 = 42
    @Option(name: OptionNames.maxSeqLen, parsing: .unconditional, help: "Tokens per window.") var maxSeqLen = 384
    @Option(name: OptionNames.docStride, parsing: .unconditional,
            help: "Tokens of overlap between windows (default: min(max-seq-len/2, 128)).") var docStride: Int?
    @Option(parsing: .unconditional, help: "Log every N optimizer steps.") var loggingSteps = 50
    @Option(parsing: .unconditional, help: "Checkpoint every N optimizer steps (0: at epoch ends only).") var saveSteps = 0
    @Option(parsing: .unconditional, help: "Complete checkpoints to keep.") var saveTotalLimit = 2
    @Option(name: [.customLong("eval-batch-size"), .customLong("per-device-eval-batch-size")], parsing: .unconditional,
            help: "Windows per forward pass when computing EM/F1.") var evalBatchSize = 32
    @Flag(inversion: .prefixedNo, help: "Pad each batch to its longest window.") var dynamicPadding = true
    @Flag(inversion: .prefixedNo, help: "Batch windows of similar length together.") var groupByLength = true
    @Flag(help: "Compute EM/F1 on the validation file after each epoch.") var evalMetrics = false
    @Flag(help: "Continue from the latest complete checkpoint in --output.") var resume = false
    @Flag(help: ArgumentHelp("Mixed precision: the encoder's linear layers in bfloat16, forward and backward (HF's --bf16).",
                             discussion: "fp32 master weights, AdamW state, loss and reductions; bf16 products with fp32 accumulation on the CPU's avx512_bf16 or AMX units. Fails at start on CPUs without them (BENCHMARKS.md, \"bf16 training\").")) var bf16 = false
    @Option(parsing: .unconditional, help: "Train N optimizer steps in all, overriding --epochs; the schedule runs over them (HF's max_steps).") var maxSteps: Int?
    @Flag(help: "Train into a non-empty --output anyway (its old checkpoints are removed).") var overwriteOutputDir = false
    @Option(parsing: .unconditional, help: "Under MPI: stop the job when the other ranks give no gradients for this many seconds (a rank died or hangs).")
    var peerTimeout = 300.0
    @Option(parsing: .unconditional, help: "Under MPI: check every N steps that every rank holds the same weights (0: never; a debugging aid).")
    var replicaCheckSteps = 0
    @Option(parsing: .unconditional, help: "Under MPI: megabytes of gradients per bucket summed over the ranks (HF's ddp_bucket_cap_mb).")
    var ddpBucketCapMb = 8.0
    @Flag(inversion: .prefixedNo, help: "Under MPI: sum each bucket of gradients while the backward pass goes on.")
    var overlapGradientSums = true

    func job() throws -> FineTuneJob {
        var job = FineTuneJob(model: try modelOption.folder(), trainFile: URL(fileURLWithPath: trainFile),
                              validationFile: validationFile.map { URL(fileURLWithPath: $0) },
                              output: URL(fileURLWithPath: output))
        job.maxTrainSamples = maxTrainSamples
        job.maxEvalSamples = maxEvalSamples
        job.options = options
        job.evalMetrics = evalMetrics
        job.evalBatchSize = evalBatchSize
        job.resume = resume
        job.overwriteOutputDir = overwriteOutputDir
        job.showSteps = Console.level != .quiet
        job.reportTitle = "bertqa training: \(modelOption.model) on \(URL(fileURLWithPath: trainFile).lastPathComponent)"
        job.reportDetails = reportDetails([
            ("model", modelOption.model), ("train file", trainFile), ("validation file", validationFile ?? "none"),
            ("output", output), ("batch size", "\(batchSize) × \(gradientAccumulationSteps) accumulation"),
            ("learning rate", "\(learningRate)"), ("epochs", maxSteps.map { "\($0) steps" } ?? "\(epochs)"), ("seed", "\(seed)"),
        ])
        return job
    }

    /// The Trainer's options, from the flags (checked before anything is fetched or read).
    var options: TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs
        o.maxSteps = maxSteps
        o.batchSize = batchSize
        o.gradientAccumulationSteps = gradientAccumulationSteps
        o.learningRate = learningRate
        o.weightDecay = weightDecay
        o.warmupSteps = warmupSteps
        o.warmupRatio = warmupRatio
        o.maxGradNorm = maxGradNorm
        o.seed = seed
        o.maxLength = maxSeqLen
        o.stride = OptionNames.docStride(docStride, maxSeqLen: maxSeqLen)
        o.loggingSteps = loggingSteps
        o.saveSteps = saveSteps
        o.saveTotalLimit = saveTotalLimit
        o.dynamicPadding = dynamicPadding
        o.groupByLength = groupByLength
        o.bf16 = bf16
        return o
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError("\(error)") }
        if let n = maxTrainSamples, n < 1 { throw ValidationError("--max-train-samples must be at least 1") }
        if let n = maxEvalSamples, n < 1 { throw ValidationError("--max-eval-samples must be at least 1") }
        if evalBatchSize < 1 { throw ValidationError("--eval-batch-size must be at least 1") }
        if evalMetrics && validationFile == nil { throw ValidationError("--eval-metrics needs --validation-file") }
        if !(peerTimeout > 0) { throw ValidationError("--peer-timeout must be positive") }
        if !(ddpBucketCapMb > 0) { throw ValidationError("--ddp-bucket-cap-mb must be positive") }
        if replicaCheckSteps < 0 { throw ValidationError("--replica-check-steps must not be negative") }
    }

    @OptionGroup var verbosity: VerbosityOptions

    func run() throws {
        verbosity.apply()
        var job = try job()
        // Under mpirun/srun: join the job; nil when this process runs alone.
        guard let communicator = try CLIError.wrap({ try Communicator.join() }) else {
            let summary = try CLIError.wrap { try FineTune.run(job, say: Console.say) }
            print(try CLIError.wrap { try JSONValueEncoder.encode(summary).compactText })
            return
        }
        communicator.peerTimeout = peerTimeout
        job.communicator = communicator
        job.replicaCheckSteps = replicaCheckSteps
        job.overlapGradientSums = overlapGradientSums
        job.gradientBucketFloats = max(1, Int(ddpBucketCapMb * 1024 * 1024 / 4))
        do {
            let summary = try FineTune.run(job, say: Console.say)
            if communicator.rank == 0 { print(try JSONValueEncoder.encode(summary).compactText) }
            communicator.finish()
        } catch {
            // One line, then every rank stops: the others would otherwise wait for this one.
            FileHandle.standardError.write(Data("Error: rank \(communicator.rank) of \(communicator.size): \(error)\n".utf8))
            communicator.abort()
        }
    }
}
