import SQuAD
import Tokenization
import XCTest

/// `postprocess_qa_predictions` on hand-made logits.
final class PostProcessTests: XCTestCase {
    /// Context "alpha beta gamma delta epsilon": word k spans `words[k]`.
    let context = "alpha beta gamma delta epsilon"
    let words: [(Int, Int)] = [(0, 5), (6, 10), (11, 16), (17, 22), (23, 30)]

    func example(_ id: String = "q1") -> SQuADExample {
        SQuADExample(id: id, title: "t", context: context, question: "q?", answers: Answers())
    }

    /// `[CLS] q [SEP] <context words> [SEP]`: positions 0-2 are not context.
    func window(_ wordIndices: [Int], id: String = "q1") -> EvaluationFeature {
        let offsets: [TokenOffset?] = [nil, nil, nil] + wordIndices.map { TokenOffset(words[$0].0, words[$0].1) } + [nil]
        return EvaluationFeature(exampleIndex: 0, exampleId: id, inputIds: Array(repeating: 1, count: offsets.count),
                                 tokenTypeIds: Array(repeating: 0, count: offsets.count), offsets: offsets)
    }

    /// Logits of `count` positions, all `base` except the given ones.
    func logits(_ count: Int, _ set: [Int: Float], base: Float = -10) -> [Float] {
        var x = [Float](repeating: base, count: count)
        for (k, v) in set { x[k] = v }
        return x
    }

    func testBestSpanAcrossWindows() throws {
        // Window A holds words 0-2, window B words 2-4; B is surer of "delta epsilon".
        let a = window([0, 1, 2]), b = window([2, 3, 4])
        let start = [logits(7, [3: 2, 4: 1]), logits(7, [4: 5])]
        let end = [logits(7, [4: 2]), logits(7, [5: 4])]
        let result = try PostProcess.run(examples: [example()], features: [a, b], startLogits: start, endLogits: end)
        let p = try XCTUnwrap(result.predictions.first)
        XCTAssertEqual(p.text, "delta epsilon")
        XCTAssertEqual(p.nBest.first?.startLogit, 5)
        XCTAssertEqual(p.nBest.first?.endLogit, 4)
        XCTAssertLessThanOrEqual(p.nBest.count, 20)
        // Candidates of both windows are pooled and sorted by score.
        XCTAssertTrue(p.nBest.contains { $0.text == "alpha beta" })
        let scores = p.nBest.map { $0.startLogit + $0.endLogit }
        XCTAssertEqual(scores, scores.sorted(by: >))
        XCTAssertEqual(p.nBest.map(\.probability).reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertNil(p.nullOdds)
    }

    func testFiltersReversedLongAndOutOfContextSpans() throws {
        let w = window([0, 1, 2, 3, 4])
        // Best start is in the question (1), then at "epsilon" (7); best end before it (3).
        let start = logits(9, [1: 9, 7: 3])
        let end = logits(9, [3: 8, 7: 1])
        var options = PostProcessOptions()
        let r1 = try PostProcess.run(examples: [example()], features: [w], startLogits: [start], endLogits: [end], options: options)
        XCTAssertEqual(r1.predictions[0].text, "epsilon")
        // max_answer_length 1 drops every span longer than one token.
        options.maxAnswerLength = 1
        let r2 = try PostProcess.run(examples: [example()], features: [w], startLogits: [start], endLogits: [end], options: options)
        XCTAssertTrue(r2.predictions[0].nBest.allSatisfy { !$0.text.contains(" ") })
    }

    func testNoValidSpanGivesEmptyPlaceholder() throws {
        let w = window([])
        let r = try PostProcess.run(examples: [example()], features: [w], startLogits: [logits(4, [:])], endLogits: [logits(4, [:])])
        XCTAssertEqual(r.predictions[0].text, "empty")
        XCTAssertEqual(r.predictions[0].nBest.count, 1)
        XCTAssertEqual(r.predictions[0].nBest[0].probability, 1)
        XCTAssertTrue(r.nBestJSON.contains("\"text\": \"empty\",\n            \"start_logit\": 0.0"))
    }

    /// Equal logits: a stable ascending argsort reversed puts the higher index first, and
    /// Python's stable sort keeps that order for equal span scores.
    func testTiesFollowNumpyAndPythonStability() throws {
        let w = window([0, 1, 2, 3, 4])
        let start = logits(9, [3: 1, 4: 1])
        let end = logits(9, [5: 1])
        let r = try PostProcess.run(examples: [example()], features: [w], startLogits: [start], endLogits: [end])
        XCTAssertEqual(r.predictions[0].nBest.prefix(2).map(\.text), ["beta gamma", "alpha beta gamma"])
        XCTAssertEqual(r.predictions[0].text, "beta gamma")
    }

    func testVersion2NullScoreAndThreshold() throws {
        let a = window([0, 1, 2]), b = window([2, 3, 4])
        // Null scores: A 3+3 = 6, B 1+1 = 2 → the minimum, 2, is the example's null score.
        let start = [logits(7, [0: 3, 3: 1]), logits(7, [0: 1, 5: 2])]
        let end = [logits(7, [0: 3, 3: 0.5]), logits(7, [0: 1, 5: 1.5])]
        var options = PostProcessOptions(versionTwo: true)
        let r = try PostProcess.run(examples: [example()], features: [a, b], startLogits: start, endLogits: end, options: options)
        let p = r.predictions[0]
        // Best span: "epsilon" in B, 2 + 1.5 = 3.5 > null 2 → diff = 2 − 3.5 = −1.5.
        XCTAssertEqual(p.text, "epsilon")
        XCTAssertEqual(p.nullOdds, -1.5)
        XCTAssertTrue(p.nBest.contains { $0.text.isEmpty && $0.startLogit == 1 && $0.endLogit == 1 })
        XCTAssertTrue(r.nullOddsJSON.contains("\"q1\": -1.5"))
        // A threshold below the diff turns the answer into "".
        options.nullScoreDiffThreshold = -2
        let r2 = try PostProcess.run(examples: [example()], features: [a, b], startLogits: start, endLogits: end, options: options)
        XCTAssertEqual(r2.predictions[0].text, "")
        // Exactly at the threshold keeps the span (the test is strictly greater).
        options.nullScoreDiffThreshold = -1.5
        let r3 = try PostProcess.run(examples: [example()], features: [a, b], startLogits: start, endLogits: end, options: options)
        XCTAssertEqual(r3.predictions[0].text, "epsilon")
    }

    func testNullPredictionAddedBackWhenOutOfTopN() throws {
        let w = window([0, 1, 2, 3, 4])
        let start = logits(9, [0: -50, 3: 5, 4: 4])
        let end = logits(9, [0: -50, 3: 5, 4: 4])
        let options = PostProcessOptions(versionTwo: true, nBestSize: 2)
        let r = try PostProcess.run(examples: [example()], features: [w], startLogits: [start], endLogits: [end], options: options)
        let nBest = r.predictions[0].nBest
        XCTAssertEqual(nBest.count, 3)
        XCTAssertEqual(nBest.last?.text, "")
        XCTAssertEqual(r.predictions[0].text, "alpha")
    }

    func testJSONFilesLookLikePython() throws {
        let r = try PostProcess.run(examples: [example("é")], features: [window([0, 1], id: "é")],
                                    startLogits: [logits(6, [3: 1.1])], endLogits: [logits(6, [4: 0.5])])
        XCTAssertEqual(r.predictionsJSON, "{\n    \"\\u00e9\": \"alpha beta\"\n}\n")
        XCTAssertTrue(r.nBestJSON.hasPrefix("{\n    \"\\u00e9\": [\n        {\n            \"start_logit\": 1.100000023841858,\n            \"end_logit\": 0.5,\n            \"text\": \"alpha beta\",\n            \"probability\": "))
    }

    func testMismatchedLogitsAreAnError() {
        XCTAssertThrowsError(try PostProcess.run(examples: [example()], features: [window([0])], startLogits: [], endLogits: []))
        XCTAssertThrowsError(try PostProcess.run(examples: [example()], features: [window([0], id: "other")],
                                                 startLogits: [logits(5, [:])], endLogits: [logits(5, [:])]))
    }
}
