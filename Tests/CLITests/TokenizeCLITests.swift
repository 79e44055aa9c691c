import Foundation
import TestSupport
import XCTest

/// `bertqa tokenize` as a user runs it: JSON lines in, JSON lines out, errors per line.
final class TokenizeCLITests: XCTestCase {
    let model = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm-tokenizer").path

    func testTextsPairsAndBadLines() throws {
        let input = """
        {"text": "Hello, world!"}
        {"question": "Who?", "context": "Albert Einstein developed relativity.", "max_length": 8, "stride": 2}
        not json
        {"question": "q"}
        {"question": "a b c d e f", "context": "x y z", "max_length": 6, "stride": 1}
        """
        let result = try CLI.run(["tokenize", "--model", model], stdin: input)
        // Every line is answered in place; the failed ones make the exit status 1.
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("3 of 5 input lines failed (first: line 3: not JSON: expected {\"text\": T}"), result.stderr)
        let lines = result.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[0]["input_ids"] as? [Int], [101, 7592, 1010, 2088, 999, 102])
        XCTAssertEqual(lines[0]["offsets"] as? [[Int]], [[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [0, 0]])
        let windows = lines[1]["windows"] as! [[String: Any]]
        XCTAssertGreaterThan(windows.count, 1)
        for w in windows {
            XCTAssertLessThanOrEqual((w["input_ids"] as! [Int]).count, 8)
            XCTAssertEqual((w["token_type_ids"] as! [Int]).count, (w["offsets"] as! [[Int]]).count)
        }
        XCTAssertNotNil(lines[2]["error"])
        XCTAssertNotNil(lines[3]["error"])
        XCTAssertTrue((lines[4]["error"] as? String ?? "").contains("question is too long"))
    }

    func testMissingModelFolderFailsWithOneLine() throws {
        let result = try CLI.run(["tokenize", "--model", "/nonexistent/model"], stdin: "")
        XCTAssertNotEqual(result.status, 0)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("/nonexistent/model"))
    }

    func testHelpOnEveryCommand() throws {
        for args in [["--help"], ["tokenize", "--help"], ["bench", "--help"]] {
            let result = try CLI.run(args)
            XCTAssertEqual(result.status, 0, "\(args): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains("USAGE"), "\(args)")
        }
    }
}
