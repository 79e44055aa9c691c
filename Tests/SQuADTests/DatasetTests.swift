import Foundation
import SQuAD
import TestSupport
import XCTest

/// Loading SQuAD files: layout, typed errors, answer checks, subsets.
final class DatasetTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("squad-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func file(_ text: String, _ name: String = "data.json") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func loadError(_ text: String) throws -> SQuADError? {
        let url = try file(text)
        do {
            _ = try SQuADDataset.load(url)
            return nil
        } catch {
            return error
        }
    }

    func testLoadsV2InFileOrderWithNonASCII() throws {
        let json = """
        {"version": "v2.0", "data": [{"title": "T1", "paragraphs": [{"context": "🎉 Café au lait", "qas": [
          {"id": "a", "question": "  What?", "answers": [{"text": "Café", "answer_start": 2}], "is_impossible": false},
          {"id": "b", "question": "Why?", "answers": [], "is_impossible": true,
           "plausible_answers": [{"text": "lait", "answer_start": 10}]}]}]},
          {"paragraphs": [{"context": "x", "qas": [{"id": "c", "question": "Q", "answers": [{"text": "x", "answer_start": 0}]}]}]}]}
        """
        let d = try SQuADDataset.load(file(json))
        XCTAssertEqual(d.examples.map(\.id), ["a", "b", "c"])
        XCTAssertEqual(d.examples[0].answers, Answers(text: ["Café"], answerStart: [2]))
        XCTAssertEqual(d.examples[0].question, "  What?")
        XCTAssertEqual(d.examples[1].answers, Answers())
        XCTAssertEqual(d.examples[2].title, "")
        XCTAssertTrue(d.isVersion2)
        // "🎉" is one code point (Python counts it as 1), so "Café" at 2 is right.
        XCTAssertEqual(d.answerIssues, [])
    }

    func testCountsAnswersThatDoNotMatchTheirOffsets() throws {
        let json = """
        {"data": [{"title": "T", "paragraphs": [{"context": "\\u00e9\\u0301 abc", "qas": [
          {"id": "ok", "question": "Q", "answers": [{"text": "abc", "answer_start": 3}]},
          {"id": "shifted", "question": "Q", "answers": [{"text": "abc", "answer_start": 2}]},
          {"id": "outside", "question": "Q", "answers": [{"text": "abc", "answer_start": 4}, {"text": "a", "answer_start": -1}]}]}]}]}
        """
        let d = try SQuADDataset.load(file(json))
        XCTAssertEqual(d.examples.count, 3)
        XCTAssertEqual(d.answerIssues.map(\.exampleId), ["shifted", "outside", "outside"])
        XCTAssertEqual(d.answerIssues.map(\.kind), [.textMismatch, .outsideContext, .outsideContext])
        XCTAssertEqual(d.prefix(2).answerIssues.count, 1)
    }

    func testTypedErrorsNameFilePathAndId() throws {
        let missing = try loadError(#"{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q7", "answers": []}]}]}]}"#)
        guard case .missingField(let f, let path, let id)? = missing else { return XCTFail("\(String(describing: missing))") }
        XCTAssertTrue(f.hasSuffix("data.json"))
        XCTAssertEqual(path, "$.data[0].paragraphs[0].qas[0].question")
        XCTAssertEqual(id, "q7")
        XCTAssertTrue("\(missing!)".contains("q7"))

        let wrong = try loadError(#"{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q8", "question": "Q", "answers": [{"text": "c", "answer_start": "0"}]}]}]}]}"#)
        guard case .wrongType(_, let path2, _, let found, let id2)? = wrong else { return XCTFail("\(String(describing: wrong))") }
        XCTAssertEqual(path2, "$.data[0].paragraphs[0].qas[0].answers[0].answer_start")
        XCTAssertEqual(found, "string")
        XCTAssertEqual(id2, "q8")

        let noData = try loadError(#"{"version": "1.1"}"#)
        guard case .missingField(_, "$.data", nil)? = noData else { return XCTFail("\(String(describing: noData))") }

        let broken = try loadError("{\"data\": [\n{\"paragraphs\": [}]}")
        guard case .malformedJSON(let p, let reason)? = broken else { return XCTFail("\(String(describing: broken))") }
        XCTAssertTrue(p.hasSuffix("data.json"))
        XCTAssertTrue(reason.contains("line 2"), reason)

        XCTAssertThrowsError(try SQuADDataset.load(directory.appendingPathComponent("absent.json"))) { error in
            guard case SQuADError.unreadableFile? = error as? SQuADError else { return XCTFail("\(error)") }
        }
    }

    func testPrefixAndSeededShuffle() throws {
        let qas = (0..<50).map { #"{"id": "q\#($0)", "question": "Q", "answers": []}"# }.joined(separator: ",")
        let d = try SQuADDataset.load(file(#"{"data": [{"paragraphs": [{"context": "c", "qas": [\#(qas)]}]}]}"#))
        XCTAssertEqual(d.prefix(3).examples.map(\.id), ["q0", "q1", "q2"])
        XCTAssertEqual(d.prefix(500).examples.count, 50)
        let a = d.shuffled(seed: 42).examples.map(\.id), b = d.shuffled(seed: 42).examples.map(\.id)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, d.examples.map(\.id))
        XCTAssertNotEqual(a, d.shuffled(seed: 7).examples.map(\.id))
        XCTAssertEqual(Set(a), Set(d.examples.map(\.id)))
    }

    func testReferenceFiles() throws {
        guard let train = Golden.file("squad/train-v1.1.first44articles.json"),
              let dev = Golden.file("squad/dev-v1.1.json"),
              let dev2 = Golden.file("squad/dev-v2.0.eval-only.json") else { throw XCTSkip(Golden.skipMessage("squad")) }
        let t = try SQuADDataset.load(train), d = try SQuADDataset.load(dev), d2 = try SQuADDataset.load(dev2)
        XCTAssertEqual(t.examples.count, 11_877)
        XCTAssertEqual(d.examples.count, 10_570)
        XCTAssertEqual(d2.examples.count, 11_873)
        XCTAssertEqual(d2.examples.filter { !$0.answers.text.isEmpty }.count, 5_928)
        XCTAssertEqual(d.examples.first?.id, "56be4db0acb8001400a502ec")
        XCTAssertFalse(d.isVersion2)
        XCTAssertTrue(d2.isVersion2)
        XCTAssertEqual(t.duplicateIds, [])
    }
}
