import BERT
import Kernels
import XCTest

/// Training-mode forward (dropout) and the backward on a tiny random model with dropout on
/// every site: determinism per seed, and gradients that follow the step's masks.
final class TrainingModeTests: XCTestCase {
    private let config = BertConfig(
        vocabSize: 40, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32,
        hiddenDropoutProb: 0.2, attentionProbsDropoutProb: 0.25, maxPositionEmbeddings: 16, initializerRange: 0.3)

    private func batch() throws -> BertBatch {
        var rng = SeededGenerator(seed: 3)
        let B = 2, T = 8
        let ids = (0..<(B * T)).map { _ in Int32(1 + rng.next() % 39) }
        let types = (0..<(B * T)).map { Int32($0 % T >= 3 ? 1 : 0) }
        var mask = [Int32](repeating: 1, count: B * T)
        mask[2 * T - 1] = 0
        mask[2 * T - 2] = 0
        return try BertBatch(batchSize: B, sequenceLength: T, inputIDs: ids, tokenTypeIDs: types, attentionMask: mask)
    }

    private func step(_ model: BertForQuestionAnswering, _ ws: BertWorkspace, seed: UInt64?) throws -> (Float, FloatBuffer) {
        let input = try batch()
        if let seed { try model.forward(input, workspace: ws, dropoutSeed: seed) } else { try model.forward(input, workspace: ws) }
        let loss = try model.qaLoss(startPositions: [2, 5], endPositions: [4, 9], workspace: ws)
        let grads = FloatBuffer(count: model.layout.totalCount)
        try model.backward(workspace: ws, gradients: grads)
        return (loss, grads)
    }

    func testSameSeedIsBitIdenticalAndSeedsDiffer() throws {
        let model = try BertForQuestionAnswering(config: config, seed: 1)
        let ws = try BertWorkspace(config: config, maxBatch: 2, maxSequence: 8, saveForBackward: true)
        let (l1, g1) = try step(model, ws, seed: 77)
        let logits1 = Array(ws.startLogits)
        let (l2, g2) = try step(model, ws, seed: 77)
        XCTAssertEqual(l1, l2)
        XCTAssertEqual(Array(g1.buffer), Array(g2.buffer))
        let (l3, g3) = try step(model, ws, seed: 78)
        XCTAssertNotEqual(Array(g1.buffer), Array(g3.buffer))
        XCTAssertNotEqual(l1, l3)
        let (l4, _) = try step(model, ws, seed: nil)
        XCTAssertNotEqual(Array(ws.startLogits), logits1, "the eval forward has no dropout")
        XCTAssertNotEqual(l1, l4)
    }

    func testGradientAccumulatesAcrossCalls() throws {
        let model = try BertForQuestionAnswering(config: config, seed: 1)
        let ws = try BertWorkspace(config: config, maxBatch: 2, maxSequence: 8, saveForBackward: true)
        let (_, once) = try step(model, ws, seed: 5)
        try model.backward(workspace: ws, gradients: once)
        let (_, single) = try step(model, ws, seed: 5)
        for i in stride(from: 0, to: once.count, by: 101) {
            XCTAssertEqual(once.pointer[i], 2 * single.pointer[i], accuracy: 1e-6 * max(1, abs(single.pointer[i])))
        }
    }

    /// Central differences of the loss with the step's masks fixed (same seed every time)
    /// against the backward, on a sample of every tensor's elements.
    func testBackwardHonoursDropoutMasks() throws {
        let model = try BertForQuestionAnswering(config: config, seed: 1)
        let ws = try BertWorkspace(config: config, maxBatch: 2, maxSequence: 8, saveForBackward: true)
        let seed: UInt64 = 2024
        let (_, grads) = try step(model, ws, seed: seed)
        let input = try batch()
        func loss() throws -> Double {
            try model.forward(input, workspace: ws, dropoutSeed: seed)
            return Double(try model.qaLoss(startPositions: [2, 5], endPositions: [4, 9], workspace: ws))
        }
        let h: Float = 1e-2
        var checked = 0
        for t in model.layout.tensors {
            // the word table: only rows of ids in the batch get gradient; sample those
            let ids = Set(input.inputIDs.map(Int.init))
            let candidates = t.name.contains("word_embeddings")
                ? ids.sorted().prefix(3).flatMap { id in (0..<3).map { id * config.hiddenSize + $0 * 5 } }
                : Array(stride(from: 0, to: t.count, by: max(1, t.count / 6)))
            let values = t.pointer(in: model.parameters.pointer), g = t.pointer(in: grads.pointer)
            for i in candidates {
                let saved = values[i]
                values[i] = saved + h
                let up = try loss()
                values[i] = saved - h
                let down = try loss()
                values[i] = saved
                let numeric = (up - down) / Double(2 * h)
                XCTAssertEqual(Double(g[i]), numeric, accuracy: 3e-2 * abs(numeric) + 2e-3,
                               "\(t.name)[\(i)]")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testTrainingForwardNeedsSavedActivations() throws {
        let model = try BertForQuestionAnswering(config: config, seed: 1)
        let ws = try BertWorkspace(config: config, maxBatch: 2, maxSequence: 8)
        XCTAssertThrowsError(try model.forward(try batch(), workspace: ws, dropoutSeed: 1))
        XCTAssertThrowsError(try model.backward(workspace: ws, gradients: FloatBuffer(count: model.layout.totalCount)))
        let saving = try BertWorkspace(config: config, maxBatch: 2, maxSequence: 8, saveForBackward: true)
        try model.forward(try batch(), workspace: saving, dropoutSeed: 1)
        XCTAssertThrowsError(try model.backward(workspace: saving, gradients: FloatBuffer(count: model.layout.totalCount)),
                             "no loss computed yet")
        _ = try model.qaLoss(startPositions: [0, 0], endPositions: [0, 0], workspace: saving)
        XCTAssertThrowsError(try model.backward(workspace: saving, gradients: FloatBuffer(count: 3)))
    }
}
