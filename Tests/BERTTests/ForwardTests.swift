import BERT
import Foundation
import Kernels
import XCTest

/// Forward-pass properties that need no reference data: workspace reuse, padding, inputs, loss.
final class ForwardTests: XCTestCase {
    let model = try! BertForQuestionAnswering(config: CheckpointTests.small, seed: 11)

    private func batch(_ B: Int, _ T: Int, lengths: [Int]) throws -> BertBatch {
        var rng = SeededGenerator(seed: 5)
        var ids: [Int32] = [], types: [Int32] = [], mask: [Int32] = []
        for b in 0..<B {
            for t in 0..<T {
                let real = t < lengths[b]
                ids.append(real ? Int32(1 + rng.next() % 119) : 0)
                types.append(real && t > lengths[b] / 2 ? 1 : 0)
                mask.append(real ? 1 : 0)
            }
        }
        return try BertBatch(batchSize: B, sequenceLength: T, inputIDs: ids, tokenTypeIDs: types, attentionMask: mask)
    }

    func testLargerWorkspaceAndSavedActivationsGiveIdenticalLogits() throws {
        let input = try batch(3, 20, lengths: [20, 13, 7])
        let exact = try model.predict(input)
        let big = try BertWorkspace(config: model.config, maxBatch: 5, maxSequence: 32)
        try model.forward(input, workspace: big)
        XCTAssertEqual(Array(big.startLogits), exact.startLogits)
        XCTAssertEqual(Array(big.endLogits), exact.endLogits)
        let training = try BertWorkspace(config: model.config, maxBatch: 3, maxSequence: 20, saveForBackward: true)
        try model.forward(input, workspace: training)
        XCTAssertEqual(Array(training.startLogits), exact.startLogits)
    }

    /// Padding a window must not change the logits of its real tokens.
    func testPaddingLeavesRealTokenLogitsUnchanged() throws {
        let padded = try batch(1, 24, lengths: [15])
        let unpadded = try BertBatch(batchSize: 1, sequenceLength: 15, inputIDs: Array(padded.inputIDs[0..<15]),
                                     tokenTypeIDs: Array(padded.tokenTypeIDs[0..<15]))
        let a = try model.predict(padded), b = try model.predict(unpadded)
        for t in 0..<15 {
            XCTAssertEqual(a.startLogits[t], b.startLogits[t], accuracy: 1e-5)
            XCTAssertEqual(a.endLogits[t], b.endLogits[t], accuracy: 1e-5)
        }
    }

    func testInvalidInputsAreTypedErrors() throws {
        XCTAssertThrowsError(try BertBatch(batchSize: 2, sequenceLength: 3, inputIDs: [Int32](repeating: 1, count: 5)))
        let bad = try BertBatch(batchSize: 1, sequenceLength: 2, inputIDs: [1, 500] as [Int32])
        XCTAssertThrowsError(try model.predict(bad)) { error in
            guard case .invalidInput(let message)? = error as? BertError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("input_ids[0][1] = 500"), message)
        }
        let long = try BertBatch(batchSize: 1, sequenceLength: 41, inputIDs: [Int32](repeating: 1, count: 41))
        XCTAssertThrowsError(try model.predict(long))
    }

    /// HF's loss: out-of-range positions clamp to T and are ignored; all ignored gives NaN.
    func testQALossClampsAndIgnoresAsHF() throws {
        let input = try batch(2, 8, lengths: [8, 6])
        let ws = try BertWorkspace(config: model.config, maxBatch: 2, maxSequence: 8)
        try model.forward(input, workspace: ws)
        let s = Array(ws.startLogits), e = Array(ws.endLogits)
        func ce(_ logits: ArraySlice<Float>, _ target: Int) -> Double {
            let m = Double(logits.max()!)
            let lse = m + log(logits.reduce(0) { $0 + exp(Double($1) - m) })
            return lse - Double(logits[logits.startIndex + target])
        }
        let both = try model.qaLoss(startPositions: [1, 2], endPositions: [3, 4], workspace: ws)
        let expected = ((ce(s[0..<8], 1) + ce(s[8..<16], 2)) / 2 + (ce(e[0..<8], 3) + ce(e[8..<16], 4)) / 2) / 2
        XCTAssertEqual(Double(both), expected, accuracy: 1e-5)
        // Row 1's start position 99 clamps to 8 = ignored: the start loss is row 0's alone.
        let clamped = try model.qaLoss(startPositions: [1, 99], endPositions: [3, -5], workspace: ws)
        let expectedClamped = (ce(s[0..<8], 1) + (ce(e[0..<8], 3) + ce(e[8..<16], 0)) / 2) / 2
        XCTAssertEqual(Double(clamped), expectedClamped, accuracy: 1e-5)
        XCTAssertTrue(try model.qaLoss(startPositions: [8, 9], endPositions: [8, 8], workspace: ws).isNaN)
    }
}
