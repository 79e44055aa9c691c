import BERT
import Foundation
import Inference
import SQuAD
import TestSupport
import Tokenization
import Training
import XCTest

/// The library's side of the bad-input table: every broken file or value is a thrown, typed
/// error whose one-line description names the problem; nothing traps.
final class LibraryBadInputTests: XCTestCase {
    /// Checks that `body` throws an error of type `E` whose description is one line and
    /// mentions `mention`.
    func expectError<E: Error>(_ type: E.Type, _ mention: String, _ label: String,
                               file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("\(label): no error", file: file, line: line)
        } catch {
            XCTAssertTrue(error is E, "\(label): \(Swift.type(of: error)) is not \(E.self): \(error)", file: file, line: line)
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), "\(label): more than one line: \(text)", file: file, line: line)
            XCTAssertTrue(text.lowercased().contains(mention.lowercased()), "\(label): \"\(text)\" does not mention \(mention)",
                          file: file, line: line)
        }
    }

    func testBrokenModelFolders() throws {
        let root = try BrokenInputs.root()
        expectError(BertError.self, "nowhere", "missing folder") {
            _ = try BertForQuestionAnswering.load(from: root.appendingPathComponent("nowhere"))
        }
        expectError(TokenizerError.self, "good.json", "a file, not a folder") {
            _ = try BertTokenizer(directory: root.appendingPathComponent("good.json"))
        }
        for (name, mention) in BrokenInputs.modelCases {
            let dir = root.appendingPathComponent(name)
            // Through the whole answering pipeline (tokenizer + weights), as users load it.
            expectError(Error.self, mention, name) { _ = try QuestionAnswerer(directory: dir) }
            // And each part on its own with its own error type.
            if name.contains("vocab") && name != "vocab-larger-than-config" {
                expectError(TokenizerError.self, mention, name) { _ = try BertTokenizer(directory: dir) }
            } else if name != "vocab-larger-than-config" {
                expectError(Error.self, mention, name) { _ = try BertForQuestionAnswering.load(from: dir) }
            }
        }
    }

    func testBrokenSQuADFiles() throws {
        let root = try BrokenInputs.root()
        XCTAssertNoThrow(try SQuADDataset.load(root.appendingPathComponent("good.json")))
        for (name, mention) in BrokenInputs.squadCases {
            expectError(SQuADError.self, mention, name) { _ = try SQuADDataset.load(root.appendingPathComponent(name)) }
        }
    }

    func testBadQuestionsContextsAndOptions() throws {
        let answerer = try QuestionAnswerer(directory: BrokenInputs.root().appendingPathComponent("good-model"))
        let context = "Albert Einstein developed the theory of relativity in the early twentieth century."
        let longQuestion = Array(repeating: "why", count: 200).joined(separator: " ")
        let table: [(label: String, question: String, context: String, options: AnswerOptions, mention: String)] = [
            ("empty question", "", context, AnswerOptions(), "question is empty"),
            ("blank question", " \t\n ", context, AnswerOptions(), "question is empty"),
            ("control-character question", "\u{0}\u{1}", context, AnswerOptions(), "question is empty"),
            ("empty context", "Who?", "", AnswerOptions(), "context is empty"),
            ("NUL-only context", "Who?", "\u{0}\u{0}", AnswerOptions(), "context is empty"),
            ("question longer than max_seq_len", longQuestion, context, AnswerOptions(maxSeqLength: 64), "too long"),
            ("doc_stride at the window's room", "Who?", context, AnswerOptions(maxSeqLength: 12, docStride: 7), "doc_stride"),
            ("doc_stride above max_seq_len", "Who?", context, AnswerOptions(maxSeqLength: 16, docStride: 20), "doc_stride"),
            ("negative doc_stride", "Who?", context, AnswerOptions(docStride: -1), "doc_stride"),
            ("zero top_k", "Who?", context, AnswerOptions(topK: 0), "top_k"),
            ("negative top_k", "Who?", context, AnswerOptions(topK: -3), "top_k"),
            ("zero max_answer_len", "Who?", context, AnswerOptions(maxAnswerLength: 0), "max_answer_len"),
            ("zero max_seq_len", "Who?", context, AnswerOptions(maxSeqLength: 0), "max_seq_len"),
            ("negative max_seq_len", "Who?", context, AnswerOptions(maxSeqLength: -384), "max_seq_len"),
            ("max_seq_len above the positions", "Who?", context, AnswerOptions(maxSeqLength: 4096), "positions"),
        ]
        for c in table {
            expectError(InferenceError.self, c.mention, c.label) {
                _ = try answerer.answer(question: c.question, context: c.context, options: c.options)
            }
        }
        // In a batch, each bad job fails alone and the good ones are answered.
        let results = answerer.answer(table.map { AnswerJob(question: $0.question, context: $0.context, options: $0.options) }
            + [AnswerJob(question: "Who?", context: context, options: AnswerOptions())])
        XCTAssertEqual(results.filter { (try? $0.get()) == nil }.count, table.count)
        XCTAssertNotNil(try? results.last?.get())
    }

    func testUnusualButValidTextIsAnswered() throws {
        let answerer = try QuestionAnswerer(directory: BrokenInputs.root().appendingPathComponent("good-model"))
        // NUL and other control characters are dropped by BERT's normalizer, as in HF.
        let nul = try answerer.answer(question: "Who\u{0}?", context: "Albert\u{0} Einstein\u{1} developed relativity.")
        XCTAssertEqual(nul.count, 1)
        // A 1 MB context becomes thousands of windows, answered in bounded batches.
        let sentence = "Albert Einstein developed the theory of relativity in the early twentieth century. "
        let big = String(repeating: sentence, count: (1 << 20) / sentence.utf8.count + 1)
        XCTAssertGreaterThanOrEqual(big.utf8.count, 1 << 20)
        let answer = try XCTUnwrap(answerer.answer(question: "Who developed relativity?", context: big).first)
        let scalars = Array(big.unicodeScalars)
        XCTAssertTrue(0 <= answer.start && answer.start < answer.end && answer.end <= scalars.count)
        XCTAssertEqual(String(String.UnicodeScalarView(scalars[answer.start ..< answer.end])), answer.answer)
    }

    func testTokenizerWindowsRejectImpossibleSizes() throws {
        let tokenizer = try BertTokenizer(directory: BrokenInputs.root().appendingPathComponent("good-model"))
        let question = Array(repeating: "why", count: 50).joined(separator: " ")
        let context = Array(repeating: "word", count: 100).joined(separator: " ")
        let table: [(label: String, options: WindowOptions, mention: String)] = [
            ("max_length below the question", WindowOptions(maxLength: 32, stride: 0), "question"),
            ("stride at the window's room", WindowOptions(maxLength: 64, stride: 11), "stride"),
            ("stride above max_length", WindowOptions(maxLength: 64, stride: 100), "stride"),
            ("negative stride", WindowOptions(maxLength: 64, stride: -1), "stride"),
            ("zero max_length", WindowOptions(maxLength: 0, stride: 0), "max_length"),
            ("negative max_length", WindowOptions(maxLength: -5, stride: 0), "max_length"),
        ]
        for c in table {
            expectError(TokenizerError.self, c.mention, c.label) {
                _ = try tokenizer.encodePair(question: question, context: context, options: c.options)
            }
        }
    }

    func testBadTrainingOptionsAndOutputs() throws {
        let root = try BrokenInputs.root()
        let table: [(label: String, change: (inout TrainingOptions) -> Void, mention: String)] = [
            ("zero epochs", { $0.epochs = 0 }, "epochs"),
            ("negative batch size", { $0.batchSize = -1 }, "batch size"),
            ("zero learning rate", { $0.learningRate = 0 }, "learning rate"),
            ("NaN learning rate", { $0.learningRate = .nan }, "learning rate"),
            ("negative max length", { $0.maxLength = -1 }, "max length"),
            ("stride at max length", { $0.stride = 384 }, "stride"),
            ("negative stride", { $0.stride = -2 }, "stride"),
            ("warmup ratio above 1", { $0.warmupRatio = 2 }, "warmup"),
            ("zero logging steps", { $0.loggingSteps = 0 }, "logging"),
        ]
        for c in table {
            var options = TrainingOptions()
            c.change(&options)
            expectError(TrainingError.self, c.mention, c.label) { try options.validate() }
        }
        // Unwritable outputs: a path under /proc, and a path under a regular file.
        let model = try BertForQuestionAnswering.load(from: root.appendingPathComponent("good-model")).model
        for output in ["/proc/bertqa-out", root.appendingPathComponent("good.json").path + "/out"] {
            expectError(BertError.self, output, "save to \(output)") { try model.save(to: URL(fileURLWithPath: output)) }
            var job = FineTuneJob(model: root.appendingPathComponent("good-model"), trainFile: root.appendingPathComponent("good.json"),
                                  validationFile: nil, output: URL(fileURLWithPath: output))
            job.options.maxLength = 64
            job.options.stride = 16
            expectError(Error.self, output, "train into \(output)") { _ = try FineTune.run(job, say: { _ in }) }
        }
        // Training on a model whose vocabulary is larger than its embedding table.
        let job = FineTuneJob(model: root.appendingPathComponent("vocab-larger-than-config"), trainFile: root.appendingPathComponent("good.json"),
                              validationFile: nil, output: try TinyModel.temporaryFolder("bertqa-bad-train"))
        expectError(InferenceError.self, "vocab_size", "train with a too-small embedding table") { _ = try FineTune.run(job, say: { _ in }) }
    }

    func testBadBatchesAreRejectedByTheModel() throws {
        let model = try BertForQuestionAnswering.load(from: BrokenInputs.root().appendingPathComponent("good-model")).model
        expectError(BertError.self, "positive", "zero batch") { _ = try BertBatch(batchSize: 0, sequenceLength: 8, inputIDs: [Int32]()) }
        expectError(BertError.self, "needs", "ids of the wrong count") { _ = try BertBatch(batchSize: 2, sequenceLength: 4, inputIDs: [Int32](repeating: 1, count: 7)) }
        let outside = try BertBatch(batchSize: 1, sequenceLength: 4, inputIDs: [101, 99_999, 5, 102] as [Int32])
        let workspace = try BertWorkspace(config: model.config, maxBatch: 1, maxSequence: 4)
        expectError(BertError.self, "vocabulary", "token id outside the vocabulary") { try model.forward(outside, workspace: workspace) }
        let tooLong = try BertBatch(batchSize: 1, sequenceLength: 600, inputIDs: [Int32](repeating: 5, count: 600))
        expectError(BertError.self, "max_position_embeddings", "sequence above the positions") {
            try model.forward(tooLong, workspace: try BertWorkspace(config: model.config, maxBatch: 1, maxSequence: 600))
        }
    }
}
