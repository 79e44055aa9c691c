import Foundation
import SQuAD
import Support
import TestSupport
import Tokenization
import XCTest

/// `PostProcess.run` against HF `utils_qa.postprocess_qa_predictions` itself, run in Python on
/// windows of 64 tokens (several per question, so answers pool across windows) with
/// deterministic pseudo-random logits (Tests/Fixtures/squad/postprocess-hf-reference.json).
/// The fixture came from a scratch script: BertTokenizerFast windows (max_length 64, stride 16,
/// question lstripped) of the first 25 questions, the logit formula below in numpy float32, and
/// `postprocess_qa_predictions` as utils_qa.py defines it (n_best 20, max_answer_length 30).
final class PostProcessReferenceTests: XCTestCase {
    /// The fixture's logit formula: exact in doubles, then one rounding to float32 on both sides.
    static func logit(feature f: Int, position j: Int, kind k: Int, clsBoost: Double) -> Float {
        let h = UInt32(truncatingIfNeeded: (f &* 1_000_003 &+ j &* 7919 &+ k &* 104_729 &+ 12345) &* 2_654_435_761)
        return Float(Double(Int(h >> 8) - (1 << 23)) / Double(1 << 20) + (j == 0 ? clsBoost : 0))
    }

    func testMatchesHuggingFacePostProcessing() throws {
        let fixture = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/squad/postprocess-hf-reference.json")
        guard let model = Golden.miniLM else { throw XCTSkip(Golden.skipMessage("models/all-MiniLM-L6-v2")) }
        let reference = try JSONValue.parse(Data(contentsOf: fixture))
        let builder = FeatureBuilder(tokenizer: try BertTokenizer(directory: model),
                                     options: FeatureOptions(maxLength: 64, stride: 16))
        guard case .array(let cases)? = reference["cases"] else { return XCTFail("fixture has no cases") }
        for c in cases {
            guard case .string(let file)? = c["file"], let n = c["examples"]?.number,
                  case .bool(let v2)? = c["version_2"], let threshold = c["null_score_diff_threshold"]?.number,
                  let boost = c["cls_boost"]?.number, case .object(let predictions)? = c["predictions"],
                  let featureCount = c["features"]?.number else { return XCTFail("bad case") }
            guard let url = Golden.file("squad/\(file)") else { throw XCTSkip(Golden.skipMessage("squad/\(file)")) }
            let examples = try SQuADDataset.load(url).prefix(Int(n)).examples
            let features = try builder.evaluationFeatures(examples)
            XCTAssertEqual(features.count, Int(featureCount))
            let start = features.indices.map { f in features[f].inputIds.indices.map { Self.logit(feature: f, position: $0, kind: 0, clsBoost: boost) } }
            let end = features.indices.map { f in features[f].inputIds.indices.map { Self.logit(feature: f, position: $0, kind: 1, clsBoost: boost) } }
            let result = try PostProcess.run(examples: examples, features: features, startLogits: start, endLogits: end,
                                             options: PostProcessOptions(versionTwo: v2, nullScoreDiffThreshold: threshold))
            let label = "\(file) v2=\(v2) threshold=\(threshold)"
            XCTAssertEqual(result.predictions.map(\.id), predictions.map(\.key), label)
            for p in result.predictions {
                XCTAssertEqual(.string(p.text), c["predictions"]?[p.id], "\(label) \(p.id)")
                if let count = c["nbest_count"]?[p.id]?.number { XCTAssertEqual(p.nBest.count, Int(count), p.id) }
                if v2 { XCTAssertEqual(p.nullOdds.map(Double.init), Self.number(c["null_odds"]?[p.id]), "\(label) \(p.id)") }
                guard case .array(let top)? = c["nbest_top3"]?[p.id] else { return XCTFail("no n-best for \(p.id)") }
                for (ours, theirs) in zip(p.nBest, top) {
                    XCTAssertEqual(.string(ours.text), theirs["text"], p.id)
                    XCTAssertEqual(Double(ours.startLogit), Self.number(theirs["start_logit"]), p.id)
                    XCTAssertEqual(Double(ours.endLogit), Self.number(theirs["end_logit"]), p.id)
                    // numpy's SIMD expf and glibc's may differ in the last bit.
                    XCTAssertEqual(Double(ours.probability), Self.number(theirs["probability"]) ?? -1, accuracy: 1e-6, p.id)
                }
            }
        }
    }

    static func number(_ v: JSONValue?) -> Double? {
        v?.number
    }
}
