import BERT
import Foundation
import Inference
import Kernels
import TestSupport
import Tokenization
import XCTest

/// `QuestionAnswerer` against every line of HF `pipeline("question-answering")` outputs
/// (MiniLM-L6 + the seeded QA head): same answers and offsets, scores within 1e-4 relative, with
/// the model reading its parameters (sgemm) and with packed fp32 inference weights.
final class PipelineParityTests: XCTestCase {
    static func miniLMWithHead(precision: InferencePrecision = .fp32, packedWeights: Bool = true) throws -> QuestionAnswerer {
        guard let dir = Golden.miniLM else { throw XCTSkip(Golden.skipMessage("models/all-MiniLM-L6-v2")) }
        let headPath = "golden/model/qa_head_seed0.safetensors"
        guard let head = Golden.file(headPath) else { throw XCTSkip(Golden.skipMessage(headPath)) }
        let config = try BertConfig.load(from: dir.appendingPathComponent("config.json"))
        let (model, report) = try BertForQuestionAnswering.load(
            config: config,
            weights: [SafetensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors")),
                      SafetensorsFile(contentsOf: head)])
        XCTAssertEqual(report.newlyInitialized, [])
        return QuestionAnswerer(tokenizer: try BertTokenizer(directory: dir),
                                model: try BertInferenceModel(model, precision: precision, packedWeights: packedWeights))
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
        let lines = try Golden.jsonLines(url)
        for packed in [false, true] {
            let qa = try Self.miniLMWithHead(packedWeights: packed)
            XCTAssertEqual(qa.model.hasPackedWeights, packed)
            try checkEveryLine(lines, qa, path: packed ? "packed fp32 weights" : "parameters (sgemm)")
        }
    }

    private func checkEveryLine(_ lines: [[String: Any]], _ qa: QuestionAnswerer, path: String) throws {
        XCTAssertEqual(lines.count, 115)
        try Self.checkLines(lines, qa, path: path)
    }

    /// Each golden line's answers (batched over all lines): the same answers and offsets, scores
    /// within 1e-4 relative; and every seventh line asked alone gives the batched answers.
    static func checkLines(_ lines: [[String: Any]], _ qa: QuestionAnswerer, path: String,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let jobs = lines.map {
            AnswerJob(question: $0["question"] as! String, context: $0["context"] as! String,
                      options: Self.options($0["parameters"] as! [String: Any]))
        }
        let batched = qa.answer(jobs)
        var worst = 0.0
        for (k, golden) in lines.enumerated() {
            let output = golden["output"]!
            let want = (output as? [[String: Any]]) ?? [output as! [String: Any]]
            let got = try batched[k].get()
            let label = "\(path), line \(k): \((golden["question"] as! String).prefix(40)) \(golden["parameters"]!)"
            XCTAssertEqual(got.count, want.count, label, file: file, line: line)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g.answer, w["answer"] as? String, label, file: file, line: line)
                XCTAssertEqual(g.start, w["start"] as? Int, label, file: file, line: line)
                XCTAssertEqual(g.end, w["end"] as? Int, label, file: file, line: line)
                let ws = (w["score"] as! NSNumber).doubleValue
                let rel = abs(g.score - ws) / max(abs(ws), 1e-12)
                worst = max(worst, rel)
                XCTAssertLessThanOrEqual(rel, 1e-4, "\(label): score \(g.score) vs \(ws)", file: file, line: line)
            }
        }
        print("pipeline parity, \(path): worst relative score error \(worst) over \(lines.count) lines")
        // One at a time gives the same answers as the batched call.
        for k in stride(from: 0, to: jobs.count, by: 7) {
            let single = try qa.answer(question: jobs[k].question, context: jobs[k].context, options: jobs[k].options)
            let both = try batched[k].get()
            XCTAssertEqual(single.map(\.answer), both.map(\.answer), file: file, line: line)
            for (a, b) in zip(single, both) {
                XCTAssertEqual(a.score, b.score, accuracy: 1e-5 * max(1, abs(b.score)), file: file, line: line)
            }
        }
    }
}

/// `pipeline("question-answering")` on the tiny model of every other architecture
/// (Tests/Fixtures/architectures, with the family's fixture tokenizer), loaded as a user's
/// folder: the same answers, offsets and scores under the pipeline's parameter sets.
final class ArchitecturePipelineTests: XCTestCase {
    func testEveryArchitectureAnswersAsTransformers() throws {
        for family in ["roberta", "xlm-roberta", "electra", "distilbert", "albert", "deberta-v3"] {
            let fixture = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/architectures/\(family)")
            let folder = try TinyModel.architectureFixture(family)
            defer { try? FileManager.default.removeItem(at: folder) }
            let lines = try Golden.jsonLines(fixture.appendingPathComponent("pipeline.jsonl"))
            XCTAssertEqual(lines.count, 15, family)
            for packed in [false, true] {
                let qa = try QuestionAnswerer(directory: folder, packedWeights: packed)
                XCTAssertEqual(qa.loadReport.newlyInitialized, [], family)
                try PipelineParityTests.checkLines(lines, qa, path: "\(family) \(packed ? "packed" : "sgemm")")
            }
        }
    }
}

/// The opt-in bf16 path through the whole pipeline, against the same HF fp32 outputs. With a
/// random QA head the candidates' scores sit close together, and the pipeline sums the scores
/// of spans that widen to the same words: a logit moved by bf16 rounding (~1e-3 here) can pull
/// one more such span into a window's top k and jump the summed score. So: the best answer must
/// agree on nearly every line, and its score within 2 % on nearly every line that agrees.
final class PipelineBF16Tests: XCTestCase {
    func testGoldenLinesInBF16StayCloseToFP32() throws {
        let path = "golden/pipeline/qa-pipeline.jsonl"
        guard let url = Golden.file(path) else { throw XCTSkip(Golden.skipMessage(path)) }
        let qa: QuestionAnswerer
        do {
            qa = try PipelineParityTests.miniLMWithHead(precision: .bf16)
        } catch let error as BertError {
            throw XCTSkip("SKIPPED: bf16 inference unavailable on this CPU (\(error))")
        }
        let lines = try Golden.jsonLines(url)
        let jobs = lines.map {
            AnswerJob(question: $0["question"] as! String, context: $0["context"] as! String,
                      options: PipelineParityTests.options($0["parameters"] as! [String: Any]))
        }
        var same = 0, close = 0
        for (k, result) in qa.answer(jobs).enumerated() {
            let output = lines[k]["output"]!
            let want = ((output as? [[String: Any]]) ?? [output as! [String: Any]])[0]
            let got = try result.get()[0]
            guard got.answer == want["answer"] as? String, got.start == want["start"] as? Int else {
                print("line \(k): bf16 best answer \(got.answer.debugDescription), HF fp32 \(want["answer"]!)")
                continue
            }
            same += 1
            let ws = (want["score"] as! NSNumber).doubleValue, rel = abs(got.score - ws) / max(abs(ws), 1e-12)
            if rel <= 0.02 { close += 1 } else { print("line \(k): score \(got.score) vs HF fp32 \(ws) \(lines[k]["parameters"]!)") }
        }
        print("pipeline bf16: best answer as HF fp32 on \(same)/\(lines.count) lines, its score within 2 % on \(close)")
        XCTAssertGreaterThanOrEqual(Double(same), 0.95 * Double(lines.count))
        XCTAssertGreaterThanOrEqual(Double(close), 0.95 * Double(same))
    }
}
