import ArgumentParser
import BERT
import Foundation
import Inference
import Reports
import SQuAD
import Support
import Tokenization

/// `bertqa evaluate`: run_qa-style scoring of a model on a SQuAD file.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on a SQuAD v1.1 or v2.0 file (run_qa-style post-processing + official metric).",
        usage: "bertqa evaluate --model <folder-or-hub-id> --data <squad.json>\n[<options>]",
        discussion: """
        Prints the official script's JSON ({"exact_match", "f1"} for v1.1; the full dict for v2.0). \
        With --output, writes predictions.json, nbest_predictions.json (and null_odds.json for v2), \
        metrics.json (what it prints) and report.html (the metrics by question type, and the \
        worst misses highlighted in their contexts) there.
        """
    )

    @OptionGroup var modelOption: ModelOption
    @Option(help: "SQuAD JSON file (v1.1 or v2.0).") var data: String
    @Option(parsing: .unconditional, help: "Only the first N questions.") var limit: Int?
    @Option(help: "Folder for predictions.json, nbest_predictions.json, metrics.json and report.html.") var output: String?
    @Option(parsing: .unconditional, help: "Windows per forward pass.") var batchSize = 32
    @Option(name: OptionNames.maxSeqLen, parsing: .unconditional, help: "Tokens per window.") var maxSeqLen = 384
    @Option(name: OptionNames.docStride, parsing: .unconditional,
            help: "Tokens of overlap between windows (default: min(max-seq-len/2, 128)).") var docStride: Int?
    @Option(parsing: .unconditional, help: "Candidates per window and n-best list size.") var nBestSize = 20
    @Option(name: OptionNames.maxAnswerLen, parsing: .unconditional, help: "Longest answer, in tokens (run_qa's default).") var maxAnswerLen = 30
    @Option(parsing: .unconditional, help: "SQuAD v2: answer empty when null score − best span score exceeds this.") var nullScoreDiffThreshold = 0.0
    @Flag(help: "Pad every batch to --max-seq-len, as run_qa does (slower; the n-best ranking of HF exactly).") var padToMaxLength = false

    @OptionGroup var precisionOption: PrecisionOption
    @OptionGroup var verbosity: VerbosityOptions

    /// The overlap used: the one given, else the pipeline's default.
    var stride: Int { OptionNames.docStride(docStride, maxSeqLen: maxSeqLen) }

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if maxSeqLen < 8 { throw ValidationError("--max-seq-len must be at least 8") }
        if stride < 0 || stride >= maxSeqLen { throw ValidationError("--doc-stride must be in 0..<max-seq-len (\(maxSeqLen))") }
        if nBestSize < 1 || maxAnswerLen < 1 { throw ValidationError("--n-best-size and --max-answer-len must be at least 1") }
    }

    func run() throws {
        verbosity.apply()
        let folder = try modelOption.folder()
        let (evaluation, outputURL) = try CLIError.wrap { () -> (SQuADEvaluation, URL?) in
            let loading = Date()
            let tokenizer = try Tokenizers.load(directory: folder)
            let (model, report) = try BertInferenceModel.load(from: folder, precision: precisionOption.precision,
                                                              packedWeights: precisionOption.packedWeights)
            for message in report.messages { Console.warn(message) }
            PrecisionOption.describe(model, tokenizer: tokenizer, from: folder, seconds: Date().timeIntervalSince(loading))
            var dataset = try SQuADDataset.load(URL(fileURLWithPath: data))
            if let limit { dataset = dataset.prefix(limit) }
            let outputURL = output.map { URL(fileURLWithPath: $0) }
            if let outputURL {
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: outputURL.path, isDirectory: &isFolder), !isFolder.boolValue {
                    throw CLIError(description: "--output \(outputURL.path) is a file: give a folder, for predictions.json and the metrics")
                }
                try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
            }
            let progress = Progress(label: "evaluating")
            let evaluation = try SQuADEvaluator.evaluate(
                model: model, tokenizer: tokenizer, dataset: dataset, maxLength: maxSeqLen, stride: stride,
                batchSize: batchSize, padToMaxLength: padToMaxLength,
                postProcess: PostProcessOptions(nBestSize: nBestSize, maxAnswerLength: maxAnswerLen,
                                                nullScoreDiffThreshold: nullScoreDiffThreshold),
                progress: progress.update)
            progress.finish()
            if let outputURL {
                try evaluation.result.write(to: outputURL, versionTwo: dataset.isVersion2)
                // The metrics as printed, beside the predictions they score.
                try AtomicFile.write(Data((evaluation.metricsJSON + "\n").utf8), to: outputURL.appendingPathComponent("metrics.json"))
                // And for people: report.html (metrics, by question type, the worst misses).
                let report = EvaluationReport(
                    title: "bertqa evaluation: \(modelOption.model) on \(URL(fileURLWithPath: data).lastPathComponent)",
                    details: reportDetails([("model", modelOption.model), ("data", data),
                                                 ("questions", "\(dataset.examples.count)"), ("windows", "\(evaluation.features)"),
                                                 ("time", String(format: "%.1f s", evaluation.seconds)),
                                                 ("precision", precisionOption.precision.rawValue)]),
                    metrics: try JSONValue.parse(Data(evaluation.metricsJSON.utf8)), examples: dataset.examples,
                    predictions: evaluation.result.predictions, versionTwo: dataset.isVersion2)
                try AtomicFile.write(Data(report.html().utf8), to: outputURL.appendingPathComponent("report.html"))
            }
            return (evaluation, outputURL)
        }
        print(evaluation.metricsJSON)
        let where_ = outputURL.map { "; predictions in \($0.path)" } ?? ""
        Console.say(String(format: "%d windows in %.1f s%@", evaluation.features, evaluation.seconds, where_))
    }
}

/// A progress line on stderr: a bar with ETA on a terminal, a line every 10 % otherwise.
final class Progress {
    let label: String
    let started = Date()
    let terminal = isatty(2) == 1
    var lastDecile = -1

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        if Console.level == .quiet { return }
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let elapsed = Date().timeIntervalSince(started)
        let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
        if terminal {
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data(String(format: "\r%@ [%@] %d/%d  ETA %.0f s ", label, bar, done, total, eta).utf8))
        } else if Int(fraction * 10) > lastDecile {
            lastDecile = Int(fraction * 10)
            FileHandle.standardError.write(Data(String(format: "%@ %d/%d (%.0f%%)\n", label, done, total, fraction * 100).utf8))
        }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
