import BERT
import Dispatch
import Distributed
import Foundation
import Inference
import Reports
import SQuAD
import Support
import Tokenization

/// The seed's whole job as one call: load a pretrained checkpoint and SQuAD files, build
/// training windows, fine-tune, save the model in Hugging Face format, and (optionally)
/// score it with run_qa-style decoding after each epoch.
public struct FineTuneJob: Sendable {
    public var model: URL
    public var trainFile: URL
    public var validationFile: URL?
    public var output: URL
    public var maxTrainSamples: Int?
    public var maxEvalSamples: Int?
    public var options = TrainingOptions()
    /// Also compute EM/F1 on the validation file after each epoch (slower).
    public var evalMetrics = false
    public var evalBatchSize = 32
    /// Continue from the latest complete checkpoint in `output` when there is one.
    public var resume = false
    /// Train into an `output` folder that already holds files (HF's `overwrite_output_dir`);
    /// otherwise such a folder is refused unless `resume` continues from it.
    public var overwriteOutputDir = false
    /// Whether the Trainer's step lines and progress bar go to stderr (`--quiet`: no; the
    /// log file and the loss curve are written either way).
    public var showSteps = true
    /// report.html's title and first lines (what the run was given, where, on which CPU).
    public var reportTitle = "bertqa training"
    public var reportDetails: [(String, String)] = []
    /// The MPI job this process is a rank of (`Communicator.join()`); nil: a process alone.
    public var communicator: Communicator?
    /// Compare the ranks' weights every N steps (0: never).
    public var replicaCheckSteps = 0
    /// Sum each bucket of gradients while the backward pass goes on (false: after it).
    public var overlapGradientSums = true
    /// Floats per bucket of the gradients' sum (HF's `ddp_bucket_cap_mb` × 2^18).
    public var gradientBucketFloats = 1 << 21

    public init(model: URL, trainFile: URL, validationFile: URL?, output: URL) {
        self.model = model
        self.trainFile = trainFile
        self.validationFile = validationFile
        self.output = output
    }
}

public struct FineTuneSummary: Codable, Sendable {
    public var output: String
    public var trainExamples: Int
    public var trainFeatures: Int
    public var steps: Int
    public var trainSeconds: Double
    public var trainSequencesPerSecond: Double
    /// Token positions trained on, padding included, and their mean per window.
    public var trainPaddedTokens: Int
    public var trainMeanPaddedLength: Double
    public var finalTrainLoss: Double?
    public var evalLossPerEpoch: [Double]
    public var exactMatch: Double?
    public var f1: Double?
    public var peakRSSMegabytes: Double
    /// Ranks, windows per batch on each (HF's per_device_train_batch_size: the most a rank
    /// takes) and per optimizer step over all of them (HF's "total train batch size").
    public var worldSize = 1
    public var perDeviceTrainBatchSize = 0
    public var totalTrainBatchSize = 0
    /// Seconds rank 0 waited for the gradients' sums at the ends of steps (the communication
    /// the backward pass did not hide); nil on one process.
    public var gradientSumWaitSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case output, steps, f1
        case trainExamples = "train_examples"
        case trainFeatures = "train_features"
        case trainSeconds = "train_seconds"
        case trainSequencesPerSecond = "train_sequences_per_second"
        case trainPaddedTokens = "train_padded_tokens"
        case trainMeanPaddedLength = "train_mean_padded_length"
        case finalTrainLoss = "final_train_loss"
        case evalLossPerEpoch = "eval_loss_per_epoch"
        case exactMatch = "exact_match"
        case peakRSSMegabytes = "peak_rss_megabytes"
        case worldSize = "world_size"
        case perDeviceTrainBatchSize = "per_device_train_batch_size"
        case totalTrainBatchSize = "total_train_batch_size"
        case gradientSumWaitSeconds = "gradient_sum_wait_seconds"
    }
}

public enum FineTune {
    /// Runs the job; `say` receives progress lines for people.
    /// Under MPI every rank calls it; rank 0 alone speaks, evaluates and writes.
    public static func run(_ job: FineTuneJob, say speak: @escaping (String) -> Void) throws -> FineTuneSummary {
        try job.options.validate()
        let leader = (job.communicator?.rank ?? 0) == 0
        let say: (String) -> Void = leader ? speak : { _ in }
        if leader { try checkOutput(job, say: say) }
        let tokenizer = try Tokenizers.load(directory: job.model)
        let (model, report) = try BertForQuestionAnswering.load(from: job.model, seed: job.options.seed)
        try QuestionAnswerer.checkVocabulary(tokenizer, fits: model.config, in: job.model)
        for message in report.trainingMessages { say(message) }

        var train = try SQuADDataset.load(job.trainFile)
        if let n = job.maxTrainSamples { train = train.prefix(n) }
        if !train.answerIssues.isEmpty {
            say("\(train.answerIssues.count) answers in \(job.trainFile.lastPathComponent) have an answer_start that does not match their text, e.g. \(train.answerIssues.prefix(3).map(\.description).joined(separator: "; ")); they are labelled as HF labels them")
        }
        let builder = FeatureBuilder(tokenizer: tokenizer, options: FeatureOptions(maxLength: job.options.maxLength, stride: job.options.stride))
        let trainFeatures = try builder.trainingFeatures(train.examples)
        say("training on \(train.examples.count) questions → \(trainFeatures.count) windows")

        var validation: SQuADDataset? = nil
        var validationFeatures: [TrainingFeature] = []
        if let file = job.validationFile {
            var v = try SQuADDataset.load(file)
            if let n = job.maxEvalSamples { v = v.prefix(n) }
            validation = v
            // The seed's validation loss uses windows labelled like training ones.
            if !v.isVersion2 || v.examples.contains(where: { !$0.answers.text.isEmpty }) {
                validationFeatures = try builder.trainingFeatures(v.examples)
            }
            say("validating on \(v.examples.count) questions → \(validationFeatures.count) windows")
        }

        var resumeFrom: URL? = nil
        if job.resume {
            resumeFrom = Checkpoints.latest(in: job.output)
            if resumeFrom == nil { say("no complete checkpoint in \(job.output.path); starting from the beginning") }
        }
        // A resumed run keeps its checkpoint's global batch (data order and schedule) on however
        // many ranks it now has.
        let world = job.communicator?.size ?? 1
        var globalBatch = job.options.batchSize * world
        if let resumeFrom {
            let state = try Checkpoints.state(of: resumeFrom)
            if state.globalBatch != globalBatch {
                say("resuming with the checkpoint's global batch of \(state.globalBatch) windows (made on \(state.worldSize ?? 1) rank\(state.worldSize ?? 1 == 1 ? "" : "s")), not \(job.options.batchSize) × \(world)")
                globalBatch = state.globalBatch
            }
        }
        let trainer = try Trainer(model: model, train: trainFeatures, validation: validationFeatures,
                                  options: job.options, output: job.output, padId: tokenizer.padId,
                                  communicator: job.communicator, globalBatchSize: globalBatch,
                                  gradientBucketFloats: job.gradientBucketFloats)
        trainer.tokenizerFiles = tokenizerFiles(in: job.model)
        trainer.showSteps = job.showSteps && leader
        trainer.replicaCheckSteps = job.replicaCheckSteps
        trainer.reduction?.overlap = job.overlapGradientSums
        var lastEval: SQuADEvaluation? = nil
        if job.evalMetrics, let validation, leader {
            trainer.onEpochEnd = { epoch, _ in
                // A snapshot of this epoch's weights, packed for the evaluation's forwards.
                let evaluation = try SQuADEvaluator.evaluate(model: try BertInferenceModel(model),
                                                             tokenizer: tokenizer, dataset: validation,
                                                             maxLength: job.options.maxLength, stride: job.options.stride,
                                                             batchSize: job.evalBatchSize)
                say("epoch \(epoch): \(evaluation.metricsJSON)")
                lastEval = evaluation
            }
        }
        let plan = job.options.maxSteps == nil
            ? "\(job.options.epochs) epochs × \(trainer.stepsPerEpoch)"
            : "max steps, over \(trainer.plannedEpochs) epoch\(trainer.plannedEpochs == 1 ? "" : "s") of \(trainer.stepsPerEpoch)"
        let perRank = (globalBatch + world - 1) / world
        let batch = world == 1 ? "batch \(globalBatch)"
            : "batch \(globalBatch) (\(world) ranks × \(perRank) windows\(globalBatch % world == 0 ? "" : " at most"), \(job.communicator?.library ?? "MPI"))"
        let accumulation = job.options.gradientAccumulationSteps
        say("\(trainer.totalSteps) optimizer step\(trainer.totalSteps == 1 ? "" : "s") (\(plan)), \(batch)\(accumulation > 1 ? " × \(accumulation) accumulated" : ""), lr \(job.options.learningRate)")
        let started = DispatchTime.now().uptimeNanoseconds
        let state = try trainer.run(resume: resumeFrom)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if leader {
            try model.save(to: job.output, auxiliaryFiles: tokenizerFiles(in: job.model))
            say("saved the fine-tuned model (Hugging Face format) in \(job.output.path)")
        }

        let losses = state.logHistory.compactMap(\.loss)
        let summary = FineTuneSummary(
            output: job.output.path, trainExamples: train.examples.count, trainFeatures: trainFeatures.count,
            steps: state.step, trainSeconds: seconds,
            trainSequencesPerSecond: Double(trainer.sequencesTrained) / max(seconds, 1e-9),
            trainPaddedTokens: trainer.paddedTokensTrained,
            trainMeanPaddedLength: Double(trainer.paddedTokensTrained) / Double(max(trainer.sequencesTrained, 1)),
            finalTrainLoss: losses.last, evalLossPerEpoch: state.logHistory.compactMap(\.evalLoss),
            exactMatch: lastEval?.exactMatch, f1: lastEval?.f1, peakRSSMegabytes: peakRSSMegabytes(),
            worldSize: world, perDeviceTrainBatchSize: perRank, totalTrainBatchSize: globalBatch * accumulation,
            gradientSumWaitSeconds: trainer.reduction?.waitSeconds)
        guard leader else { return summary }
        let results = try JSONValueEncoder.encode(summary)
        try AtomicFile.write(Data((results.pythonText(indent: 2, sortKeys: true) + "\n").utf8),
                             to: job.output.appendingPathComponent("train_results.json"))
        // For people: report.html beside the run's files (curves, throughput, results, and the
        // last validation by question type when it was scored), from the run's history in memory
        // as training_log.jsonl has it (a resumed run's includes the steps before it resumed) and
        // the results in train_results.json's order.
        var sortedResults = results
        if case .object(let fields) = results { sortedResults = .object(fields.sorted { $0.key < $1.key }) }
        var page = TrainingReport(title: job.reportTitle, details: job.reportDetails,
                                  log: try state.logHistory.map { try JSONValueEncoder.encode($0) }, results: sortedResults)
        if let lastEval, let validation, let metrics = try? JSONValue.parse(Data(lastEval.metricsJSON.utf8)) {
            page.evaluation = EvaluationReport(title: job.reportTitle, details: [], metrics: metrics, examples: validation.examples,
                                                 predictions: lastEval.result.predictions, versionTwo: validation.isVersion2)
        }
        try AtomicFile.write(Data(page.html().utf8), to: job.output.appendingPathComponent("report.html"))
        return summary
    }

    /// HF's rule: an output folder that holds files is not trained into unless the user says so
    /// (`overwriteOutputDir`) or continues its run (`resume`). Overwriting removes the earlier
    /// run's checkpoints, which would otherwise be taken for this run's.
    static func checkOutput(_ job: FineTuneJob, say: (String) -> Void) throws {
        let path = job.output.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue else {
            throw TrainingError.io(path: path, reason: "the output exists and is not a folder")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard !contents.isEmpty, !job.resume else { return }
        guard job.overwriteOutputDir else {
            throw TrainingError.io(path: path, reason: "the output folder is not empty; pass --overwrite-output-dir to train into it anyway, or --resume to continue its run")
        }
        let checkpoints = Checkpoints.folder(job.output)
        if FileManager.default.fileExists(atPath: checkpoints.path) {
            try? FileManager.default.removeItem(at: checkpoints)
            say("removed the earlier run's checkpoints in \(checkpoints.path) (--overwrite-output-dir)")
        }
    }

    static func tokenizerFiles(in folder: URL) -> [URL] {
        BertForQuestionAnswering.tokenizerFileNames.map { folder.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
    }
}
