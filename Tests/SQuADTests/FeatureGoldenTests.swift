import Foundation
import SQuAD
import TestSupport
import Tokenization
import XCTest

/// Parity of training and evaluation features with the Python reference (../shared/golden).
final class FeatureGoldenTests: XCTestCase {
    func tokenizer() throws -> BertTokenizer {
        guard let model = Golden.miniLM else { throw XCTSkip(Golden.skipMessage("models/all-MiniLM-L6-v2")) }
        return try BertTokenizer(directory: model)
    }

    func dataset(_ relative: String) throws -> SQuADDataset {
        guard let url = Golden.file(relative) else { throw XCTSkip(Golden.skipMessage(relative)) }
        return try SQuADDataset.load(url)
    }

    func golden(_ relative: String) throws -> [[String: Any]] {
        guard let url = Golden.file(relative) else { throw XCTSkip(Golden.skipMessage(relative)) }
        return try Golden.jsonLines(url)
    }

    /// All 4,082 windows of the seed's `prepare_train_features` on the first 4,000 questions.
    func testSeedTrainingFeatures() throws {
        let expected = try golden("golden/features/seed-train-features.jsonl")
        let examples = try dataset("squad/train-v1.1.first44articles.json").prefix(4000).examples
        let features = try FeatureBuilder(tokenizer: tokenizer()).trainingFeatures(examples)
        XCTAssertEqual(features.count, 4082)
        XCTAssertEqual(features.count, expected.count)
        var mismatches = 0
        for (k, (f, e)) in zip(features, expected).enumerated() {
            let same = f.exampleIndex == e["example_index"] as? Int
                && f.inputIds.map(Int.init) == Golden.ints(e["input_ids"])
                && f.tokenTypeIds.map(Int.init) == Golden.ints(e["token_type_ids"])
                && f.startPosition == e["start_position"] as? Int
                && f.endPosition == e["end_position"] as? Int
            if !same {
                mismatches += 1
                if mismatches <= 5 {
                    XCTFail("feature \(k) (example \(f.exampleIndex)): start \(f.startPosition)/\(e["start_position"] ?? "?") end \(f.endPosition)/\(e["end_position"] ?? "?")")
                }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    /// run_qa's evaluation windows of the first 2,000 dev questions.
    func testEvaluationFeatures() throws {
        let expected = try golden("golden/features/dev-eval-features.jsonl")
        let examples = try dataset("squad/dev-v1.1.json").prefix(2000).examples
        let features = try FeatureBuilder(tokenizer: tokenizer()).evaluationFeatures(examples)
        XCTAssertEqual(features.count, expected.count)
        var mismatches = 0
        for (k, (f, e)) in zip(features, expected).enumerated() {
            let offsets = f.offsets.map { $0.map { [Int($0.start), Int($0.end)] } }
            let same = f.exampleId == e["example_id"] as? String
                && f.inputIds.map(Int.init) == Golden.ints(e["input_ids"])
                && offsets == Golden.offsets(e["offset_mapping"])
            if !same {
                mismatches += 1
                if mismatches <= 5 { XCTFail("evaluation feature \(k) (\(f.exampleId)) differs") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    /// Small windows stress the overflow path: ids and type ids for 64/16, 128/32, 100/50.
    func testShortWindows() throws {
        let expected = try golden("golden/features/short-window-features.jsonl")
        let examples = try dataset("squad/dev-v1.1.json").prefix(300).examples
        let tok = try tokenizer()
        var groups: [[Int]: [[String: Any]]] = [:]
        var order: [[Int]] = []
        for e in expected {
            guard let m = e["max_length"] as? Int, let s = e["stride"] as? Int else { continue }
            if groups[[m, s]] == nil { order.append([m, s]) }
            groups[[m, s], default: []].append(e)
        }
        XCTAssertFalse(order.isEmpty)
        for key in order {
            let builder = FeatureBuilder(tokenizer: tok, options: FeatureOptions(maxLength: key[0], stride: key[1]))
            let features = try builder.evaluationFeatures(examples)
            let rows = groups[key] ?? []
            XCTAssertEqual(features.count, rows.count, "max_length \(key[0]) stride \(key[1])")
            for (f, e) in zip(features, rows) {
                XCTAssertEqual(f.exampleIndex, e["example_index"] as? Int)
                XCTAssertEqual(f.inputIds.map(Int.init), Golden.ints(e["input_ids"]))
                XCTAssertEqual(f.tokenTypeIds.map(Int.init), Golden.ints(e["token_type_ids"]))
            }
        }
    }

    /// The seed left-strips questions (as run_qa does); for BERT it changes nothing in the
    /// features, since the normalizer drops whitespace and only context offsets are kept.
    func testQuestionStrippingDoesNotChangeFeatures() throws {
        let tok = try tokenizer()
        for file in ["squad/train-v1.1.first44articles.json", "squad/dev-v1.1.json"] {
            let padded = try dataset(file).examples.filter { $0.question.unicodeScalars.first.map(PythonText.isSpace) ?? false }
            XCTAssertFalse(padded.isEmpty, file)
            let stripped = FeatureBuilder(tokenizer: tok)
            let raw = FeatureBuilder(tokenizer: tok, options: FeatureOptions(questionStripping: .none))
            XCTAssertEqual(try stripped.trainingFeatures(padded), try raw.trainingFeatures(padded))
            XCTAssertEqual(try stripped.evaluationFeatures(padded), try raw.evaluationFeatures(padded))
        }
    }
}
