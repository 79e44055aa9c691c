import BERT
import Foundation
import Inference
import TestSupport
import Tokenization
import XCTest

/// `QuestionAnswerer` against every line of HF `pipeline("question-answering")` outputs
/// (MiniLM-L6 + the seeded QA head): same answers and offsets, scores within 1e-4 relative.
final class PipelineParityTests: XCTestCase {
    static func miniLMWithHead() throws -> QuestionAnswerer {
        guard let dir = Golden.miniLM else { throw XCTSkip(Golden.skipMessage("models/all-MiniLM-L6-v2")) }
        let headPath = "golden/model/qa_head_seed0.safetensors"
        guard let head = Golden.file(headPath) else { throw XCTSkip(Golden.skipMessage(headPath)) }
        let config = try BertConfig.load(from: dir.appendingPathComponent("config.json"))
        let (model, report) = try BertForQuestionAnswering.load(
            config: config,
            weights: [SafetensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors")),
                      SafetensorsFile(contentsOf: head)])
        XCTAssertEqual(report.newlyInitialized, [])
        return QuestionAnswerer(tokenizer: try BertTokenizer(directory: dir), model: model)
    }

    static func options(_ parameters: [String: Any]) -> AnswerOptions {
        var o = AnswerOptions()
        if let v = parameters["top_k"] as? Int { o.topK = v }
        if let v = parameters["max_answer_len"] as? Int { o.maxAnswerLength = v }
        if let v = parameters["max_seq_len"] as? Int { o.maxSeqLength = v }
        if let v = parameters["doc_stride"] as? Int { o.docStride = v }
        if let v = parameters["handle_impossible_answer"] as? Bool { o.handleImpossibleAnswer = v }
        if let v = parameters["align_to_words"] as? Bool { o.alignToWords = v }
        return o
    }

    func testEveryGoldenLineBatchedAndOneByOne() throws {
        let path = "golden/pipeline/qa-pipeline.jsonl"
        guard let url = Golden.file(path) else { throw XCTSkip(Golden.skipMessage(path)) }
        let qa = try Self.miniLMWithHead()
        let lines = try Golden.jsonLines(url)
        XCTAssertEqual(lines.count, 115)
        let jobs = lines.map {
            AnswerJob(question: $0["question"] as! String, context: $0["context"] as! String,
                      options: Self.options($0["parameters"] as! [String: Any]))
        }
        let batched = qa.answer(jobs)
        var worst = 0.0
        for (k, line) in lines.enumerated() {
            let output = line["output"]!
            let want = (output as? [[String: Any]]) ?? [output as! [String: Any]]
            let got = try batched[k].get()
            let label = "line \(k): \((line["question"] as! String).prefix(40)) \(line["parameters"]!)"
            XCTAssertEqual(got.count, want.count, label)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g.answer, w["answer"] as? String, label)
                XCTAssertEqual(g.start, w["start"] as? Int, label)
                XCTAssertEqual(g.end, w["end"] as? Int, label)
                let ws = (w["score"] as! NSNumber).doubleValue
                let rel = abs(g.score - ws) / max(abs(ws), 1e-12)
                worst = max(worst, rel)
                XCTAssertLessThanOrEqual(rel, 1e-4, "\(label): score \(g.score) vs \(ws)")
            }
        }
        print("pipeline parity: worst relative score error \(worst)")
        // One at a time gives the same answers as the batched call.
        for k in stride(from: 0, to: jobs.count, by: 7) {
            let single = try qa.answer(question: jobs[k].question, context: jobs[k].context, options: jobs[k].options)
            let both = try batched[k].get()
            XCTAssertEqual(single.map(\.answer), both.map(\.answer))
            for (a, b) in zip(single, both) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5 * max(1, abs(b.score))) }
        }
    }
}
