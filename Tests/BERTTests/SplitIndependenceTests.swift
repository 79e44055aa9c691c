import BERT
import Kernels
import TestSupport
import XCTest

/// A whole forward pass (products, attention pairs, element-wise kernels) does not depend on which
/// worker runs which tile (`Parallel.forEachTile`), nor on the machine's load.
final class SplitIndependenceTests: XCTestCase {
    /// A whole forward pass (products, attention pairs) gives the same logits, bit for bit, run
    /// by the team, by one thread, and with a core kept busy.
    func testForwardLogitsDoNotDependOnWhoRunsTheTiles() throws {
        let config = BertConfig(vocabSize: 200, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 512, maxPositionEmbeddings: 160, typeVocabSize: 2)
        let model = try BertForQuestionAnswering(config: config, seed: 4)
        var rng = SeededGenerator(seed: 9)
        let B = 3, T = 128
        let ids = (0..<(B * T)).map { _ in Int32(1 + rng.next() % 199) }
        let mask = (0..<(B * T)).map { Int32($0 % T < [128, 90, 40][$0 / T] ? 1 : 0) }
        let input = try BertBatch(batchSize: B, sequenceLength: T, inputIDs: ids,
                                  tokenTypeIDs: [Int32](repeating: 0, count: B * T), attentionMask: mask)
        func run() -> [Float] {
            guard let logits = try? model.predict(input) else { return [] }
            return logits.startLogits + logits.endLogits
        }
        let team = run()
        XCTAssertEqual(team.count, 2 * B * T)
        XCTAssertTrue(team == oneThread(run), "team vs one thread")
        XCTAssertTrue(team == withBusyCore(run), "team vs a busy core")
    }
}
