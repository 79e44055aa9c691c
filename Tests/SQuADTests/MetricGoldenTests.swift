import Foundation
import SQuAD
import Support
import TestSupport
import XCTest

/// The official evaluate-v1.1.py / evaluate-v2.0.py results in ../shared/golden/metric.
/// Numbers are read with `JSONValue` (exact shortest-digit parsing): Foundation's
/// `JSONSerialization` on Linux can be off by an ulp, which would hide or fake a mismatch.
final class MetricGoldenTests: XCTestCase {
    func value(_ relative: String) throws -> JSONValue {
        guard let url = Golden.file(relative) else { throw XCTSkip(Golden.skipMessage(relative)) }
        return try JSONValue.parse(Data(contentsOf: url))
    }

    static func number(_ v: JSONValue?) -> Double? {
        v?.number
    }

    func object(_ relative: String) throws -> [String: Any] {
        guard let url = Golden.file(relative) else { throw XCTSkip(Golden.skipMessage(relative)) }
        guard let object = try Golden.json(url) as? [String: Any] else {
            XCTFail("\(relative) is not an object")
            return [:]
        }
        return object
    }

    func dataset(_ relative: String) throws -> SQuADDataset {
        guard let url = Golden.file(relative) else { throw XCTSkip(Golden.skipMessage(relative)) }
        return try SQuADDataset.load(url)
    }

    func testNormalizeAnswer() throws {
        let cases = try object("golden/metric/normalize_answer.json")
        XCTAssertFalse(cases.isEmpty)
        for (input, expected) in cases {
            XCTAssertEqual(AnswerNormalization.normalize(input), expected as? String, "normalize_answer(\(input.debugDescription))")
        }
    }

    func checkV1(_ relative: String) throws {
        let golden = try value(relative)
        let dev = try dataset("squad/dev-v1.1.json")
        guard case .object(let perQuestion)? = golden["per_question"], let result = golden["result"] else {
            return XCTFail("unexpected layout of \(relative)")
        }
        var predictions: [String: String] = [:]
        var rows: [String: JSONValue] = [:]
        for (id, row) in perQuestion {
            if case .string(let p)? = row["prediction"] { predictions[id] = p }
            rows[id] = row
        }
        let scores = try SQuADMetrics.evaluateV1(dataset: dev, predictions: predictions)
        XCTAssertEqual(scores.perQuestion.count, perQuestion.count)
        var wrong = 0
        for q in scores.perQuestion {
            let row = rows[q.id]
            var exact: Bool? = nil
            if case .bool(let b)? = row?["exact_match"] { exact = b }
            let f1 = Self.number(row?["f1"])
            if exact != q.exactMatch || f1 != q.f1 {
                wrong += 1
                if wrong <= 5 { XCTFail("\(q.id): ours EM \(q.exactMatch) F1 \(q.f1), official \(String(describing: exact)) \(String(describing: f1))") }
            }
        }
        XCTAssertEqual(wrong, 0)
        XCTAssertEqual(scores.exactMatch, Self.number(result["exact_match"]))
        XCTAssertEqual(scores.f1, Self.number(result["f1"]))
        XCTAssertEqual(scores.json, result.pythonText())
    }

    func testV1GoldPredictions() throws { try checkV1("golden/metric/v1.1-gold-first.json") }
    func testV1PerturbedPredictions() throws { try checkV1("golden/metric/v1.1-perturbed.json") }

    func testV2Mixed() throws {
        let golden = try object("golden/metric/v2.0-mixed.json")
        let dev = try dataset("squad/dev-v2.0.eval-only.json")
        guard let predictions = golden["predictions"] as? [String: String],
              let result = golden["result"] as? [String: Any],
              let url = Golden.file("golden/metric/v2.0-mixed.json") else { return XCTFail("unexpected layout") }
        // The probabilities in file order: read them with our order-keeping parser.
        guard case .object(let members) = try JSONValue.parse(Data(contentsOf: url)),
              case .object(let probs)? = members.first(where: { $0.key == "no_answer_probability" })?.value
        else { return XCTFail("no no_answer_probability object") }
        let na = NoAnswerProbabilities(entries: probs.map { m in
            if case .int(let n) = m.value { return (m.key, .int(n)) }
            if case .double(let x) = m.value { return (m.key, .float(x)) }
            return (m.key, .float(.nan))
        })
        let scores = try SQuADMetrics.evaluateV2(dataset: dev, predictions: predictions, noAnswerProbabilities: na)
        XCTAssertEqual(scores.fields.map(\.0), ["exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total",
                                                "NoAns_exact", "NoAns_f1", "NoAns_total", "best_exact",
                                                "best_exact_thresh", "best_f1", "best_f1_thresh"])
        guard let exact = try value("golden/metric/v2.0-mixed.json")["result"] else { return XCTFail("no result") }
        for (key, number) in scores.fields {
            XCTAssertEqual(number.double, Self.number(exact[key]), key)
        }
        XCTAssertEqual(scores.json, exact.pythonText(indent: 2))
        _ = result
    }
}
