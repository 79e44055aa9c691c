import BERT
import Foundation
import TestSupport
import XCTest

/// Parity with Hugging Face transformers 4.57 on the reference outputs in ../shared/golden.
final class GoldenModelTests: XCTestCase {
    /// MiniLM-L6 + the seed-0 QA head on a padded batch of 3 dev questions: the forward on the
    /// parameters themselves (sgemm; training's path) and on packed fp32 weights (inference's).
    func testMiniLMLogitsAndLossMatchTransformers() throws {
        try forEachKernelPath {
            let (model, report, ref) = try GoldenMiniLM.load()
            XCTAssertEqual(report.newlyInitialized, [])
            XCTAssertEqual(report.unexpected, ["pooler.dense.bias", "pooler.dense.weight"])
            try assertParity(model, ref, "MiniLM-L6", logits: 1e-4, loss: 1e-5)
        }
    }

    /// Every path against `ref`'s logits and loss: the trainable model's forward, and inference
    /// snapshots on the weights as they are (sgemm) and on packed fp32 weights.
    private func assertParity(_ model: BertForQuestionAnswering, _ ref: SafetensorsFile, _ name: String,
                              logits: Float, loss: Float) throws {
        for (path, packed) in [("trainable model (sgemm)", nil), ("snapshot, sgemm", false), ("snapshot, packed fp32 weights", true)] {
            let snapshot = try packed.map { try BertInferenceModel(model, packedWeights: $0) }
            if let snapshot, let packed {
                XCTAssertEqual(snapshot.hasPackedWeights, packed, "\(name): this CPU offers no packed fp32 kernels")
            }
            let result = try ReferenceBatch(ref).run(model, snapshot: snapshot)
            let startDiff = maxAbsDifference(result.start, try ref.floats("start_logits"))
            let endDiff = maxAbsDifference(result.end, try ref.floats("end_logits"))
            let lossDiff = abs(result.loss - (try ref.floats("loss"))[0])
            print("\(name) parity, \(path): start logits max |Δ| \(startDiff), end \(endDiff), loss |Δ| \(lossDiff)")
            XCTAssertLessThanOrEqual(startDiff, logits, path)
            XCTAssertLessThanOrEqual(endDiff, logits, path)
            XCTAssertLessThanOrEqual(lossDiff, loss, path)
        }
    }

    /// The tiny random BERT QA checkpoint saved by transformers' save_pretrained.
    func testTinyBertLogitsMatchTransformers() throws {
        try forEachKernelPath {
            let rel = "golden/tiny-bert/reference.safetensors"
            guard let folder = Golden.file("golden/tiny-bert/model"), let refURL = Golden.file(rel) else {
                throw XCTSkip(Golden.skipMessage(rel))
            }
            let (model, report) = try BertForQuestionAnswering.load(from: folder)
            XCTAssertEqual(report, LoadReport())
            try assertParity(model, try SafetensorsFile(contentsOf: refURL), "tiny-bert", logits: 1e-5, loss: 1e-5)
        }
    }
}

/// MiniLM-L6 from ../shared with the seed-0 QA head, and HF's reference outputs for it (the
/// golden batch's inputs, logits, loss and gradients); skips when the data is absent.
enum GoldenMiniLM {
    static func load() throws -> (model: BertForQuestionAnswering, report: LoadReport, reference: SafetensorsFile) {
        let rel = "golden/model/minilm-l6-qa-seed0-reference.safetensors"
        guard let folder = Golden.miniLM, let refURL = Golden.file(rel),
              let headURL = Golden.file("golden/model/qa_head_seed0.safetensors") else {
            throw XCTSkip(Golden.skipMessage(rel))
        }
        let config = try BertConfig.load(from: folder.appendingPathComponent("config.json"))
        let (model, report) = try BertForQuestionAnswering.load(
            config: config,
            weights: [SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")),
                      SafetensorsFile(contentsOf: headURL)])
        return (model, report, try SafetensorsFile(contentsOf: refURL))
    }
}

/// The inputs stored in a reference file (input_ids, token_type_ids, attention_mask, positions).
struct ReferenceBatch {
    let batch: BertBatch
    let startPositions: [Int]
    let endPositions: [Int]

    init(batch: BertBatch, startPositions: [Int], endPositions: [Int]) {
        self.batch = batch
        self.startPositions = startPositions
        self.endPositions = endPositions
    }

    init(_ ref: SafetensorsFile) throws {
        let shape = try ref.entry("input_ids").shape
        batch = try BertBatch(
            batchSize: shape[0], sequenceLength: shape[1], inputIDs: try ref.integers("input_ids"),
            tokenTypeIDs: try ref.integers("token_type_ids"), attentionMask: try ref.integers("attention_mask"))
        startPositions = try ref.integers("start_positions")
        endPositions = try ref.integers("end_positions")
    }

    /// The forward of `snapshot` when given, else of `model`; the loss by `model` on its logits.
    func run(_ model: BertForQuestionAnswering, snapshot: BertInferenceModel? = nil,
             saveForBackward: Bool = false) throws -> (start: [Float], end: [Float], loss: Float) {
        let ws = try BertWorkspace(config: model.config, maxBatch: batch.batchSize, maxSequence: batch.sequenceLength,
                                   saveForBackward: saveForBackward)
        if let snapshot { try snapshot.forward(batch, workspace: ws) } else { try model.forward(batch, workspace: ws) }
        let loss = try model.qaLoss(startPositions: startPositions, endPositions: endPositions, workspace: ws)
        return (Array(ws.startLogits), Array(ws.endLogits), loss)
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for (x, y) in zip(a, b) { m = max(m, abs(x - y)) }
    return m
}
