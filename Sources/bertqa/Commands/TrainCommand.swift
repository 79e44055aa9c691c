import ArgumentParser
import Foundation
import Support
import Training

/// `bertqa train`: fine-tune a pretrained BERT on SQuAD (HF `run_qa.py` / Trainer semantics).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a pretrained BERT checkpoint for extractive QA on a SQuAD file.",
        discussion: """
        Writes to --output: the fine-tuned model in Hugging Face format (config.json, model.safetensors,
        tokenizer files), checkpoints/checkpoint-<step>/ (model, optimizer, trainer state; written
        atomically), training_log.jsonl, loss_curve.svg and train_results.json. --resume continues
        from the latest complete checkpoint with bit-identical results.
        Batches are padded to their longest window and grouped by length by default
        (--no-dynamic-padding / --no-group-by-length give the seed's fixed 384-token padding).
        """
    )

    @Option(help: ArgumentHelp("Pretrained model: " + modelHelp)) var model: String

    @OptionGroup var revisionOption: RevisionOption
    @Option(help: "SQuAD JSON to train on.") var trainFile: String
    @Option(help: "SQuAD JSON for the validation loss (and --eval-metrics).") var validationFile: String?
    @Option(help: "Output folder.") var output: String
    @Option(parsing: .unconditional, help: "Use only the first N training questions.") var maxTrainSamples: Int?
    @Option(parsing: .unconditional, help: "Use only the first N validation questions.") var maxEvalSamples: Int?
    @Option(parsing: .unconditional, help: "Training epochs.") var epochs = 3
    @Option(parsing: .unconditional, help: "Windows per batch.") var batchSize = 16
    @Option(parsing: .unconditional, help: "Batches per optimizer step.") var gradientAccumulationSteps = 1
    @Option(parsing: .unconditional, help: "Peak learning rate (AdamW).") var learningRate = 3e-5
    @Option(parsing: .unconditional, help: "Decoupled weight decay (not on biases and LayerNorm weights).") var weightDecay = 0.01
    @Option(parsing: .unconditional, help: "Linear warmup steps.") var warmupSteps = 0
    @Option(parsing: .unconditional, help: "Linear warmup as a ratio of all steps (used when --warmup-steps is 0).") var warmupRatio = 0.0
    @Option(parsing: .unconditional, help: "Gradient clipping norm.") var maxGradNorm = 1.0
    @Option(parsing: .unconditional, help: "Seed for the QA head, data order and dropout.") var seed: UInt64 = 42
    @Option(parsing: .unconditional, help: "Tokens per window.") var maxLength = 384
    @Option(parsing: .unconditional, help: "Tokens of overlap between windows.") var stride = 128
    @Option(parsing: .unconditional, help: "Log every N optimizer steps.") var loggingSteps = 50
    @Option(parsing: .unconditional, help: "Checkpoint every N optimizer steps (0: at epoch ends only).") var saveSteps = 0
    @Option(parsing: .unconditional, help: "Complete checkpoints to keep.") var saveTotalLimit = 2
    @Option(parsing: .unconditional, help: "Windows per batch when computing EM/F1.") var evalBatchSize = 32
    @Flag(inversion: .prefixedNo, help: "Pad each batch to its longest window.") var dynamicPadding = true
    @Flag(inversion: .prefixedNo, help: "Batch windows of similar length together.") var groupByLength = true
    @Flag(help: "Compute EM/F1 on the validation file after each epoch.") var evalMetrics = false
    @Flag(help: "Continue from the latest complete checkpoint in --output.") var resume = false
    @Option(parsing: .unconditional, help: "Train N optimizer steps in all, overriding --epochs; the schedule runs over them (HF's max_steps).") var maxSteps: Int?
    @Flag(help: "Train into a non-empty --output anyway (its old checkpoints are removed).") var overwriteOutputDir = false

    func job() throws -> FineTuneJob {
        var job = FineTuneJob(model: try revisionOption.folder(model), trainFile: URL(fileURLWithPath: trainFile),
                              validationFile: validationFile.map { URL(fileURLWithPath: $0) },
                              output: URL(fileURLWithPath: output))
        job.maxTrainSamples = maxTrainSamples
        job.maxEvalSamples = maxEvalSamples
        job.options = options
        job.evalMetrics = evalMetrics
        job.evalBatchSize = evalBatchSize
        job.resume = resume
        job.overwriteOutputDir = overwriteOutputDir
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
        o.maxLength = maxLength
        o.stride = stride
        o.loggingSteps = loggingSteps
        o.saveSteps = saveSteps
        o.saveTotalLimit = saveTotalLimit
        o.dynamicPadding = dynamicPadding
        o.groupByLength = groupByLength
        return o
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError("\(error)") }
        if let n = maxTrainSamples, n < 1 { throw ValidationError("--max-train-samples must be at least 1") }
        if let n = maxEvalSamples, n < 1 { throw ValidationError("--max-eval-samples must be at least 1") }
        if evalBatchSize < 1 { throw ValidationError("--eval-batch-size must be at least 1") }
        if evalMetrics && validationFile == nil { throw ValidationError("--eval-metrics needs --validation-file") }
    }

    func run() throws {
        let job = try job()
        let summary = try CLIError.wrap {
            try FineTune.run(job) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        }
        print(try CLIError.wrap { try JSONValueEncoder.encode(summary).compactText })
    }
}
