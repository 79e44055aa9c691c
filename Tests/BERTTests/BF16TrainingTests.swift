import BERT
import Kernels
import TestSupport
import XCTest

/// bf16 training (`BertWorkspace.bf16Products`, `bertqa train --bf16`) on every architecture's
/// fixture (Tests/Fixtures/architectures, plus a BERT): the logits and every gradient of one
/// training step against the fp32 step, which matches transformers (ArchitectureParityTests).
/// The products' own arithmetic is checked exactly against an fp32 emulation of bf16 rounding
/// in KernelsTests/BF16ProductTests; here, that the whole model uses them where it should and
/// stays close: bf16 keeps 8 significant bits, so each product moves by ~0.4 % of its terms.
final class BF16TrainingTests: XCTestCase {
    private static let families = ["bert"] + ArchitectureParityTests.families

    private func model(_ family: String) throws -> (BertForQuestionAnswering, ReferenceBatch) {
        if family == "bert" {
            let config = BertConfig(vocabSize: 40, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2,
                                    intermediateSize: 64, maxPositionEmbeddings: 16, initializerRange: 0.3)
            let model = try BertForQuestionAnswering(config: config, seed: 7)
            var rng = SeededGenerator(seed: 3)
            let ids = (0..<24).map { _ in Int32(1 + rng.next() % 39) }
            var mask = [Int32](repeating: 1, count: 24)
            mask[22] = 0
            mask[23] = 0
            let batch = try BertBatch(batchSize: 2, sequenceLength: 12, inputIDs: ids,
                                      tokenTypeIDs: (0..<24).map { Int32($0 % 12 >= 4 ? 1 : 0) }, attentionMask: mask)
            return (model, ReferenceBatch(batch: batch, startPositions: [3, 6], endPositions: [5, 9]))
        }
        let folder = ArchitectureParityTests.fixture(family)
        let model = try BertForQuestionAnswering.load(from: folder.appendingPathComponent("model")).model
        return (model, try ReferenceBatch(try SafetensorsFile(contentsOf: folder.appendingPathComponent("reference.safetensors"))))
    }

    /// Logits, loss and gradients of one step (eval-mode forward, so no dropout differs).
    private func step(_ model: BertForQuestionAnswering, _ input: ReferenceBatch, bf16: Bool) throws
        -> (start: [Float], end: [Float], loss: Float, gradients: FloatBuffer) {
        let ws = try BertWorkspace(config: model.config, maxBatch: input.batch.batchSize,
                                   maxSequence: input.batch.sequenceLength, saveForBackward: true)
        ws.bf16Products = bf16
        try model.forward(input.batch, workspace: ws)
        let loss = try model.qaLoss(startPositions: input.startPositions, endPositions: input.endPositions, workspace: ws)
        let gradients = FloatBuffer(count: model.layout.totalCount)
        try model.backward(workspace: ws, gradients: gradients)
        return (Array(ws.startLogits), Array(ws.endLogits), loss, gradients)
    }

    func testEveryArchitectureTrainsInBF16CloseToFP32() throws {
        guard BF16Products.available else {
            throw XCTSkip("SKIPPED: this CPU has no bf16 products (avx512_bf16 or AMX; it runs \(GEMM.instructionSets))")
        }
        for family in Self.families {
            let (model, input) = try model(family)
            let fp32 = try step(model, input, bf16: false), bf16 = try step(model, input, bf16: true)
            let largest = (fp32.start + fp32.end).map(abs).max() ?? 1
            let moved = max(maxAbsDifference(bf16.start, fp32.start), maxAbsDifference(bf16.end, fp32.end))
            print("\(family): logits moved by \(moved) (largest \(largest)), loss \(fp32.loss) → \(bf16.loss)")
            XCTAssertGreaterThan(moved, 0, "\(family): the bf16 step gave fp32's logits bit for bit: its products did not run")
            // Measured: ≤ 1 % of the largest logit (the BERT), ≤ 0.07 % for the fixtures.
            XCTAssertLessThanOrEqual(moved, 0.02 * largest, family)
            XCTAssertEqual(bf16.loss, fp32.loss, accuracy: 0.01 * fp32.loss, family)
            // Each tensor's gradient as a whole: |g_bf16 − g_fp32| ≤ 8 % of |g_fp32| (L2), for the
            // tensors with a gradient that is not rounding noise (≥ 1e-6 of the largest norm).
            // Measured on an AMD EPYC Zen 4 (avx512_bf16): at most 4.1 % (the BERT's query bias;
            // its initializer range 0.3 makes large activations), 0.6–2.9 % for the fixtures.
            let norms = model.layout.tensors.map { t in
                (t, l2(t.buffer(in: fp32.gradients.pointer)), l2(t.buffer(in: bf16.gradients.pointer), minus: t.buffer(in: fp32.gradients.pointer)))
            }
            let biggest = norms.map(\.1).max() ?? 0
            var worst = (name: "", ratio: 0.0)
            for (t, norm, difference) in norms where norm > 1e-6 * biggest {
                let ratio = difference / norm
                if ratio > worst.ratio { worst = (t.hfName.isEmpty ? t.name : t.hfName, ratio) }
                XCTAssertLessThanOrEqual(ratio, 0.08, "\(family) \(t.hfName): gradient moved by \(ratio) of its norm")
            }
            print("\(family): worst gradient \(worst.name) moved by \(worst.ratio) of its norm")
        }
    }

    /// The weights' bf16 copy is made again by each forward: after the optimizer (here, a change
    /// by hand) the next step sees the new weights, not the first step's copy.
    func testEachForwardRoundsTheCurrentWeights() throws {
        guard BF16Products.available else {
            throw XCTSkip("SKIPPED: this CPU has no bf16 products (avx512_bf16 or AMX; it runs \(GEMM.instructionSets))")
        }
        let (model, input) = try model("bert")
        let ws = try BertWorkspace(config: model.config, maxBatch: input.batch.batchSize,
                                   maxSequence: input.batch.sequenceLength, saveForBackward: true)
        ws.bf16Products = true
        try model.forward(input.batch, workspace: ws)
        let before = Array(ws.startLogits)
        let weight = model.encoder.layers[1].intermediate.dense.weight.buffer(in: model.parameters.pointer)
        for i in weight.indices { weight[i] *= 2 }
        try model.forward(input.batch, workspace: ws)
        let after = Array(ws.startLogits)
        let fresh = try step(model, input, bf16: true)
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(after, fresh.start, "a workspace's second forward gives what a fresh workspace gives")
    }

    /// Where the CPU lacks bf16 products, a bf16 step refuses with a one-line reason rather than
    /// run oneDNN's emulation (or nothing); where it has them, the same step runs.
    func testRefusesWithoutBF16Products() throws {
        let (model, input) = try model("bert")
        let ws = try BertWorkspace(config: model.config, maxBatch: input.batch.batchSize,
                                   maxSequence: input.batch.sequenceLength, saveForBackward: true)
        ws.bf16Products = true
        if BF16Products.available {
            XCTAssertNoThrow(try model.forward(input.batch, workspace: ws))
        } else {
            XCTAssertThrowsError(try model.forward(input.batch, workspace: ws)) { error in
                XCTAssertTrue("\(error)".contains("avx512_bf16 or AMX"), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            }
        }
    }

    private func l2(_ a: UnsafeMutableBufferPointer<Float>, minus b: UnsafeMutableBufferPointer<Float>? = nil) -> Double {
        var s = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(b?[i] ?? 0)
            s += d * d
        }
        return s.squareRoot()
    }
}
