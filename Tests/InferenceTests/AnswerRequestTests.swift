import Foundation
import Inference
import Support
import XCTest

/// The one request parser behind `answer`'s stdin and `serve`'s body: both shapes, ids,
/// defaults, nulls, and every refusal naming its field.
final class AnswerRequestTests: XCTestCase {
    func parse(_ text: String, defaults: AnswerOptions = AnswerOptions()) throws -> AnswerRequest {
        try AnswerRequest.parse(Data(text.utf8), defaults: defaults)
    }

    func testBothShapesGiveTheSameJobs() throws {
        let flat = try parse(#"{"question": "Who?", "context": "Ann did.", "top_k": 3, "doc_stride": 7, "id": "a"}"#)
        let envelope = try parse(#"{"inputs": {"question": "Who?", "context": "Ann did."}, "parameters": {"top_k": 3, "doc_stride": 7}, "id": "a"}"#)
        for request in [flat, envelope] {
            XCTAssertFalse(request.isBatch)
            XCTAssertEqual(request.items.count, 1)
            XCTAssertEqual(request.items[0].id, .string("a"))
            XCTAssertEqual(request.items[0].job, AnswerJob(question: "Who?", context: "Ann did.",
                                                           options: AnswerOptions(topK: 3, docStride: 7)))
        }
    }

    func testDefaultsNullsAndIdsInAList() throws {
        let defaults = AnswerOptions(topK: 2, maxAnswerLength: 9)
        let request = try parse(#"{"inputs": [{"question": "Q1", "context": "C1", "id": 1}, {"question": "Q2", "context": "C2"}], "parameters": {"max_answer_len": null, "align_to_words": false}}"#,
                                defaults: defaults)
        XCTAssertTrue(request.isBatch)
        XCTAssertEqual(request.items.map(\.id), [.int(1), nil])
        XCTAssertEqual(request.items[1].job.options, AnswerOptions(topK: 2, maxAnswerLength: 9, alignToWords: false))
        XCTAssertEqual(try parse(#"{"inputs": {"question": "Q", "context": "C"}, "parameters": null}"#, defaults: defaults).items[0].job.options,
                       defaults)
    }

    /// What the Inference API sends besides the pipeline's parameters is accepted: its
    /// `options` and `max_question_len` (which HF's fast-tokenizer path does not use either).
    func testTheAPIsOptionsAndMaxQuestionLenAreAccepted() throws {
        let request = try parse(#"{"inputs": {"question": "Q", "context": "C"}, "parameters": {"max_question_len": 16}, "options": {"use_cache": false, "wait_for_model": true}}"#)
        XCTAssertEqual(request.items[0].job.options, AnswerOptions())
    }

    func testAnswersLeadWithTheId() {
        let answers = [Answer(score: 0.5, start: 0, end: 3, answer: "Ann"), Answer(score: 0.25, start: 4, end: 7, answer: "did")]
        XCTAssertEqual(AnswerRequest.json(Array(answers.prefix(1)), id: .int(4)).compactText,
                       #"{"id":4,"score":0.5,"start":0,"end":3,"answer":"Ann"}"#)
        XCTAssertEqual(AnswerRequest.json(answers, id: nil), answers.pipelineJSON)
        guard case .array(let list) = AnswerRequest.json(answers, id: .string("x")) else { return XCTFail() }
        XCTAssertEqual(list.map { $0["id"] }, [.string("x"), .string("x")])
        XCTAssertEqual(AnswerRequest.errorJSON("bad", id: .int(2)).compactText, #"{"id":2,"error":"bad"}"#)
    }

    func testRefusalsNameTheField() {
        let cases: [(String, String)] = [
            ("garbage", "not JSON"),
            ("[1, 2]", "got an array"),
            (#"{"question": "Q"}"#, "missing field \"context\""),
            (#"{"question": "Q", "context": "C", "topk": 2}"#, "unknown field \"topk\""),
            (#"{"question": 1, "context": "C"}"#, "\"question\" must be a string"),
            (#"{"inputs": {"question": "Q", "context": "C", "top_k": 2}}"#, "unknown field \"inputs.top_k\""),
            (#"{"inputs": [{"question": "Q", "context": "C"}, 5]}"#, "\"inputs[1]\" must be an object"),
            (#"{"inputs": {"question": "Q", "context": "C"}, "parameters": {"top_k": 2.5}}"#, "\"top_k\" must be an integer"),
            (#"{"inputs": {"question": "Q", "context": "C"}, "parameters": {"max_length": 2}}"#, "unknown parameter \"max_length\""),
            (#"{"inputs": {"question": "Q", "context": "C"}, "parameters": {"top_k": 0}}"#, "top_k must be at least 1"),
            (#"{"inputs": [], "id": 3}"#, "empty list"),
            (#"{"inputs": {"question": "Q", "context": "C"}, "options": {"use_gpu": true}}"#, "unknown option \"use_gpu\""),
            (#"{"inputs": {"question": "Q", "context": "C"}, "options": {"use_cache": "no"}}"#, "\"use_cache\" must be true or false"),
            (#"{"question": "Q", "context": "C", "max_question_len": 0}"#, "max_question_len must be at least 1"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(text) → \(error)")
            }
        }
        // The id is kept for the error line even when the rest is wrong.
        XCTAssertThrowsError(try parse(#"{"id": 9, "question": 1, "context": "C"}"#)) { error in
            XCTAssertEqual((error as? AnswerRequestError)?.id, .int(9))
        }
    }
}
