import BERT
import Foundation
import Kernels
import TestSupport
import XCTest

/// Every gradient against PyTorch's autograd (transformers 4.57, eval mode) on the reference
/// batches in ../shared/golden: |ours − torch| ≤ 1e-3·|torch| + 1e-6, element by element.
final class GradientParityTests: XCTestCase {
    func testTinyBertGradientsMatchTransformers() throws {
        try forEachKernelPath {
            let rel = "golden/tiny-bert/reference.safetensors"
            guard let folder = Golden.file("golden/tiny-bert/model"), let refURL = Golden.file(rel) else {
                throw XCTSkip(Golden.skipMessage(rel))
            }
            let model = try BertForQuestionAnswering.load(from: folder).model
            let ref = try SafetensorsFile(contentsOf: refURL)
            let grads = try gradients(model, ReferenceBatch(ref), expectedLoss: try ref.floats("loss")[0])
            for t in model.layout.tensors {
                try assertClose(Array(t.buffer(in: grads.pointer)), try ref.floats("grad." + t.hfName), t.hfName)
            }
        }
    }

    /// The tiny model has no dropout: the training forward with any seed is the eval forward.
    func testTinyBertTrainingForwardWithZeroDropoutGivesSameGradients() throws {
        let rel = "golden/tiny-bert/reference.safetensors"
        guard let folder = Golden.file("golden/tiny-bert/model"), let refURL = Golden.file(rel) else {
            throw XCTSkip(Golden.skipMessage(rel))
        }
        let model = try BertForQuestionAnswering.load(from: folder).model
        let input = try ReferenceBatch(try SafetensorsFile(contentsOf: refURL))
        let eval = try gradients(model, input)
        let train = try gradients(model, input, dropoutSeed: 1234)
        XCTAssertEqual(Array(eval.buffer), Array(train.buffer))
    }

    /// MiniLM-L6 + the seed-0 head: head, layer 5, layer 0 attention, embeddings (word rows
    /// for the ids used).
    func testMiniLMGradientsMatchTransformers() throws {
        try forEachKernelPath {
            let (model, _, ref) = try GoldenMiniLM.load()
            let grads = try gradients(model, ReferenceBatch(ref), expectedLoss: try ref.floats("loss")[0])
            var checked = 0
            for t in model.layout.tensors where ref.entries["grad." + t.hfName] != nil {
                try assertClose(Array(t.buffer(in: grads.pointer)), try ref.floats("grad." + t.hfName), t.hfName)
                checked += 1
            }
            XCTAssertEqual(checked, 2 + 16 + 10 + 4, "every grad.* tensor of the reference has a counterpart")
            let word = try XCTUnwrap(model.layout["embeddings.word_embeddings.weight"])
            let ids = try ref.integers("grad_rows.bert.embeddings.word_embeddings.ids")
            let C = model.config.hiddenSize
            var ours: [Float] = []
            for id in ids { ours += Array(UnsafeBufferPointer(start: word.pointer(in: grads.pointer) + id * C, count: C)) }
            try assertClose(ours, try ref.floats("grad_rows.bert.embeddings.word_embeddings.weight"), "word embedding rows")
        }
    }

    private func gradients(_ model: BertForQuestionAnswering, _ input: ReferenceBatch,
                           expectedLoss: Float? = nil, dropoutSeed: UInt64? = nil) throws -> FloatBuffer {
        let ws = try BertWorkspace(config: model.config, maxBatch: input.batch.batchSize,
                                   maxSequence: input.batch.sequenceLength, saveForBackward: true)
        if let dropoutSeed {
            try model.forward(input.batch, workspace: ws, dropoutSeed: dropoutSeed)
        } else {
            try model.forward(input.batch, workspace: ws)
        }
        let loss = try model.qaLoss(startPositions: input.startPositions, endPositions: input.endPositions, workspace: ws)
        if let expectedLoss { XCTAssertEqual(loss, expectedLoss, accuracy: 1e-5) }
        let grads = FloatBuffer(count: model.layout.totalCount)
        try model.backward(workspace: ws, gradients: grads)
        return grads
    }
}

/// Element-wise |a − b| ≤ rel·|b| + abs; prints the worst element so the margin is visible.
func assertClose(_ a: [Float], _ b: [Float], _ name: String, rel: Float = 1e-3, abs absFloor: Float = 1e-6,
                 file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(a.count, b.count, "\(name): element count", file: file, line: line)
    guard a.count == b.count else { return }
    var worst = 0, worstRatio: Float = 0
    for i in a.indices {
        let ratio = Swift.abs(a[i] - b[i]) / (rel * Swift.abs(b[i]) + absFloor)
        if !(ratio <= worstRatio) { worstRatio = ratio; worst = i }
    }
    if ProcessInfo.processInfo.environment["BERTQA_VERBOSE_GRADIENTS"] != nil || worstRatio > 1 {
        print("\(name): worst element \(worst): ours \(a[worst]) reference \(b[worst]) (\(worstRatio) of the tolerance)")
    }
    XCTAssertLessThanOrEqual(worstRatio, 1, "\(name): element \(worst) is \(a[worst]), reference \(b[worst])",
                             file: file, line: line)
}
