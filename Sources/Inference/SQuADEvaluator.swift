import BERT
import Dispatch
import Foundation
import SQuAD
import Tokenization

/// A model scored on a SQuAD file the way `run_qa.py` does it: evaluation windows, batched
/// logits, `postprocess_qa_predictions`, then the official v1.1 or v2.0 metric.
public struct SQuADEvaluation: Sendable {
    public var result: PostProcessResult
    /// The official script's output, as JSON text (v1.1: exact_match, f1; v2.0: the full dict).
    public var metricsJSON: String
    /// v1.1 exact match and F1 (nil for v2 files; see `metricsJSON`).
    public var exactMatch: Double?
    public var f1: Double?
    public var features: Int
    public var seconds: Double
}

public enum SQuADEvaluator {
    /// - Parameters:
    ///   - padToMaxLength: pad every batch to `maxLength` as run_qa does (padding positions then
    ///     take part in the n-best ranking exactly as in HF); otherwise batches are padded to
    ///     their longest window and each window's logits are cut to its own length.
    ///   - progress: called with (windows done, windows in all) after each batch.
    public static func evaluate(model: BertInferenceModel, tokenizer: any QATokenizer, dataset: SQuADDataset,
                                maxLength: Int = 384, stride: Int = 128, batchSize: Int = 32,
                                padToMaxLength: Bool = false,
                                postProcess: PostProcessOptions? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> SQuADEvaluation {
        let started = DispatchTime.now().uptimeNanoseconds
        let builder = FeatureBuilder(tokenizer: tokenizer, options: FeatureOptions(maxLength: maxLength, stride: stride))
        let features = try builder.evaluationFeatures(dataset.examples)
        guard batchSize >= 1 else { throw InferenceError.invalidOption("batch size must be at least 1") }
        let workspace = try BertWorkspace(config: model.config, maxBatch: batchSize, maxSequence: maxLength)
        let lengths = features.map(\.inputIds.count)
        // Similar lengths together: little padding; order does not change any result.
        let batches = padToMaxLength
            ? Batching.sequential(count: features.count, batchSize: batchSize)
            : Batching.byLength(lengths: lengths, batchSize: batchSize)
        var collector = LogitCollector(featureCount: features.count)
        var done = 0
        for indices in batches {
            let batch = try FeatureBatch.make(features, indices: indices,
                                              padding: padToMaxLength ? .maxLength(maxLength) : .longest,
                                              padId: tokenizer.padId)
            try model.forward(try BertBatch(batch), workspace: workspace)
            try collector.add(batch, startLogits: Array(workspace.startLogits), endLogits: Array(workspace.endLogits))
            done += indices.count
            progress?(done, features.count)
        }
        var (start, end) = try collector.rows()
        if !padToMaxLength {
            for f in features.indices {
                start[f] = Array(start[f].prefix(lengths[f]))
                end[f] = Array(end[f].prefix(lengths[f]))
            }
        }
        let v2 = dataset.isVersion2
        var options = postProcess ?? PostProcessOptions()
        options.versionTwo = v2
        let result = try PostProcess.run(examples: dataset.examples, features: features,
                                         startLogits: start, endLogits: end, options: options)
        let predictions = Dictionary(result.predictions.map { ($0.id, $0.text) }, uniquingKeysWith: { _, last in last })
        var evaluation = SQuADEvaluation(result: result, metricsJSON: "", exactMatch: nil, f1: nil,
                                         features: features.count, seconds: 0)
        if v2 {
            let odds = NoAnswerProbabilities(entries: result.predictions.compactMap { p in
                p.nullOdds.map { (p.id, PyNumber.float(Double($0))) }
            })
            let metrics = try SQuADMetrics.evaluateV2(dataset: dataset, predictions: predictions, noAnswerProbabilities: odds)
            evaluation.metricsJSON = metrics.json
        } else {
            let metrics = try SQuADMetrics.evaluateV1(dataset: dataset, predictions: predictions)
            evaluation.metricsJSON = metrics.json
            evaluation.exactMatch = metrics.exactMatch
            evaluation.f1 = metrics.f1
        }
        evaluation.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return evaluation
    }
}
