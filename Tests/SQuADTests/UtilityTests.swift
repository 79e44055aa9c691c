import Foundation
import SQuAD
import Tokenization
import XCTest

/// Batching, Python-compatible JSON output, string helpers and metric corner cases.
final class UtilityTests: XCTestCase {
    func feature(_ ids: [Int32]) -> TrainingFeature {
        TrainingFeature(exampleIndex: 0, inputIds: ids, tokenTypeIds: ids.map { $0 > 5 ? 1 : 0 },
                        startPosition: 0, endPosition: 0)
    }

    func testBatchPaddingLongestAndMaxLength() throws {
        let features = [feature([1, 2, 7]), feature([1, 9]), feature([1, 2, 3, 8])]
        let longest = try FeatureBatch.make(features, indices: [0, 1], padding: .longest, padId: 0)
        XCTAssertEqual(longest.batchSize, 2)
        XCTAssertEqual(longest.sequenceLength, 3)
        XCTAssertEqual(longest.inputIds, [1, 2, 7, 1, 9, 0])
        XCTAssertEqual(longest.tokenTypeIds, [0, 0, 1, 0, 1, 0])
        XCTAssertEqual(longest.attentionMask, [1, 1, 1, 1, 1, 0])
        let fixed = try FeatureBatch.make(features, indices: [2], padding: .maxLength(6), padId: 99)
        XCTAssertEqual(fixed.inputIds, [1, 2, 3, 8, 99, 99])
        XCTAssertEqual(fixed.attentionMask, [1, 1, 1, 1, 0, 0])
        XCTAssertThrowsError(try FeatureBatch.make(features, indices: [2], padding: .maxLength(3), padId: 0))
        XCTAssertThrowsError(try FeatureBatch.make(features, indices: [3], padding: .longest, padId: 0))
    }

    func testLogitCollectorRestoresFeatureOrder() throws {
        let features = [feature([1, 2]), feature([1, 2, 3]), feature([4])]
        var collector = LogitCollector(featureCount: 3)
        let b = try FeatureBatch.make(features, indices: [2, 0], padding: .longest, padId: 0)
        try collector.add(b, startLogits: [20, 21, 0, 1], endLogits: [-20, -21, 0, -1])
        XCTAssertThrowsError(try collector.rows())
        let c = try FeatureBatch.make(features, indices: [1], padding: .longest, padId: 0)
        XCTAssertThrowsError(try collector.add(c, startLogits: [1], endLogits: [1]))
        try collector.add(c, startLogits: [10, 11, 12], endLogits: [-10, -11, -12])
        let rows = try collector.rows()
        XCTAssertEqual(rows.start, [[0, 1], [10, 11, 12], [20, 21]])
        XCTAssertEqual(rows.end, [[0, -1], [-10, -11, -12], [-20, -21]])
    }

    func testBatchOrders() {
        XCTAssertEqual(Batching.sequential(count: 5, batchSize: 2), [[0, 1], [2, 3], [4]])
        let lengths = [3, 9, 5, 9, 1, 7]
        let grouped = Batching.lengthGrouped(lengths: lengths, batchSize: 2)
        XCTAssertEqual(grouped, [[1, 3], [5, 2], [0, 4]])
        let shuffled = Batching.lengthGrouped(lengths: lengths, batchSize: 2, megaBatchFactor: 1, seed: 3)
        XCTAssertEqual(shuffled.flatMap { $0 }.sorted(), Array(0..<6))
        XCTAssertEqual(shuffled, Batching.lengthGrouped(lengths: lengths, batchSize: 2, megaBatchFactor: 1, seed: 3))
        // One group over everything, however many items: longest first, ties in input order.
        let many = (0..<250).map { ($0 * 37) % 11 }
        let byLength = Batching.byLength(lengths: many, batchSize: 4)
        XCTAssertEqual(byLength.map(\.count), Array(repeating: 4, count: 62) + [2])
        XCTAssertEqual(byLength.flatMap { $0 }, many.indices.sorted { many[$0] != many[$1] ? many[$0] > many[$1] : $0 < $1 })
    }

    func testPythonStringHelpers() {
        XCTAssertEqual(PythonText.lstrip(" \u{1c}\u{a0}\tWhy? "), "Why? ")
        XCTAssertEqual(PythonText.strip("\u{2003} x \u{3000}"), "x")
        // U+200B (zero width space) is not whitespace for Python.
        XCTAssertEqual(PythonText.lstrip("\u{200b}x"), "\u{200b}x")
        XCTAssertEqual(PythonText.splitWhitespace(" a\u{85}b  c "), ["a", "b", "c"])
        // Slicing counts code points: "e\u{301}" is one Character but two Python characters.
        XCTAssertEqual(PythonText.slice("e\u{301}xyz", 1, 3), "\u{301}x")
    }

    func testNormalizationCornerCases() {
        XCTAssertEqual(AnswerNormalization.normalize("ΟΔΟΣ"), "οδος".replacingOccurrences(of: "σ", with: "ς"))
        XCTAssertEqual(AnswerNormalization.normalize("ΣΑ"), "σα")
        XCTAssertEqual(AnswerNormalization.normalize("İ"), "i\u{307}")
        XCTAssertEqual(AnswerNormalization.normalize("the_cat a1 théa the"), "thecat a1 théa")
        XCTAssertEqual(AnswerNormalization.normalize("l'an"), "lan")
        XCTAssertEqual(SQuADMetrics.f1V1(prediction: "x b b c", groundTruth: "b b d"), (2 * 0.5 * (2.0 / 3.0)) / (0.5 + 2.0 / 3.0))
        XCTAssertEqual(SQuADMetrics.f1V1(prediction: "", groundTruth: ""), 0)
        XCTAssertEqual(SQuADMetrics.f1V2(gold: "", prediction: ""), .int(1))
        XCTAssertEqual(SQuADMetrics.f1V2(gold: "the", prediction: "x"), .int(0))
    }

    func testPython312Sum() {
        XCTAssertEqual(PyNumber.pythonSum([.int(1), .int(2)]), .int(3))
        XCTAssertEqual(PyNumber.pythonSum([.float(0.1), .float(0.2), .float(0.3)]), .float(0.6))
        XCTAssertEqual(PyNumber.pythonSum([.float(1e100), .float(1), .float(-1e100)]), .float(1))
    }
}
