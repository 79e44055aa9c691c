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

    func testPythonFloatRepr() {
        let cases: [(Double, String)] = [
            (100, "100.0"), (0.5, "0.5"), (46.773888363292336, "46.773888363292336"), (1e-5, "1e-05"),
            (0.0001, "0.0001"), (1.5e-7, "1.5e-07"), (1e16, "1e+16"), (1234567890123456.0, "1234567890123456.0"),
            (-2.5, "-2.5"), (0, "0.0"), (Double(Float(1.1)), "1.100000023841858"), (123.0, "123.0"),
        ]
        for (x, expected) in cases { XCTAssertEqual(PythonJSON.float(x), expected, "\(x)") }
    }

    func testPythonJSONStringsAndLayout() {
        XCTAssertEqual(PythonJSON.string("a\"b\\c\n\u{7f}é😀"), #""a\"b\\c\n\u007f\u00e9\ud83d\ude00""#)
        let value = PythonJSON.Value.object([("x", .array([.int(1), .double(2)])), ("y", .object([]))])
        XCTAssertEqual(PythonJSON.dumps(value), #"{"x": [1, 2.0], "y": {}}"#)
        XCTAssertEqual(PythonJSON.dumps(value, indent: 2), "{\n  \"x\": [\n    1,\n    2.0\n  ],\n  \"y\": {}\n}")
    }

    func testJSONParserKeepsOrderAndReportsPosition() throws {
        let v = try JSONValue.parse(Data(#"{"b": 1, "a": [true, null, "\u00e9\ud83d\ude00", -2.5e1]}"#.utf8))
        guard case .object(let members) = v else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["b", "a"])
        XCTAssertEqual(v["a"], .array([.bool(true), .null, .string("é😀"), .number(-25, isInteger: false)]))
        XCTAssertEqual(v["b"], .number(1, isInteger: true))
        XCTAssertThrowsError(try JSONValue.parse(Data("{\n\"a\": tru}".utf8))) { error in
            XCTAssertEqual((error as? JSONParseError)?.line, 2)
        }
        XCTAssertThrowsError(try JSONValue.parse(Data("[1] x".utf8)))
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
