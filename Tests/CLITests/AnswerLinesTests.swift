import Foundation
import Support
import TestSupport
import XCTest

/// `bertqa answer` on JSON lines: one output line per input line, in order and as soon as it is
/// answered; ids echoed; per-line parameters honoured or refused; the server's request shapes.
final class AnswerLinesTests: XCTestCase {
    func parse(_ line: Substring) throws -> JSONValue { try JSONValue.parse(Data(line.utf8)) }

    func testEveryLineGetsItsLineWithIdsAndParameters() throws {
        let model = try CLITestModel.folder().path
        let input = [
            #"{"question": "Who developed relativity?", "context": "Albert Einstein developed the theory of relativity.", "id": "q1"}"#,
            "",
            #"{"inputs": {"question": "Who?", "context": "Ann met Bob in Paris."}, "parameters": {"top_k": 2, "max_answer_len": null}, "id": 7}"#,
            #"{"question": "Who?", "context": "Ann met Bob in Paris.", "top_k": 2}"#,
            "garbage",
            #"{"question": "Who?", "context": "Ann met Bob in Paris.", "topk": 2}"#,
            #"{"inputs": [{"question": "Who?", "context": "Ann met Bob in Paris.", "id": "a"}, {"question": "Where?", "context": "In Paris."}]}"#,
        ]
        let result = try CLI.run(["answer", "--model", model], stdin: input.joined(separator: "\n") + "\n")
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("2 of 7 input lines failed (first: line 5: not JSON"), result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, input.count, result.stdout)
        guard lines.count == input.count else { return }

        // 1: the answer object led by the id.
        guard case .object(let first) = try parse(lines[0]) else { return XCTFail(String(lines[0])) }
        XCTAssertEqual(first.map(\.key), ["id", "score", "start", "end", "answer"])
        XCTAssertEqual(first[0].value, .string("q1"))
        // 2: a blank line answers null.
        XCTAssertEqual(lines[1], "null")
        // 3 and 4: top_k from the line, in either shape, the same answers as the flag gives.
        let flags = try CLI.run(["answer", "--model", model, "--question", "Who?", "--context", "Ann met Bob in Paris.", "--top-k", "2"])
        XCTAssertEqual(flags.status, 0, flags.stderr)
        let expected = try JSONValue.parse(Data(flags.stdout.utf8))
        XCTAssertEqual(try parse(lines[3]), expected)
        guard case .array(let withIds) = try parse(lines[2]), case .array(let plain) = expected else {
            return XCTFail("\(lines[2]) / \(flags.stdout)")
        }
        XCTAssertEqual(withIds.count, 2)
        for (answer, reference) in zip(withIds, plain) {
            guard case .object(let members) = answer, case .object(let referenceMembers) = reference else { return XCTFail() }
            XCTAssertEqual(members.first?.value, .int(7))
            XCTAssertEqual(JSONValue.object(Array(members.dropFirst())), .object(referenceMembers))
        }
        // 5 and 6: errors in place; a misspelt parameter is refused, not ignored.
        XCTAssertTrue(lines[4].contains(#""error":"not JSON"#), String(lines[4]))
        XCTAssertTrue(lines[5].contains(#"unknown field \"topk\""#), String(lines[5]))
        // 7: a list of inputs answers a list, each with its own id.
        guard case .array(let batch) = try parse(lines[6]) else { return XCTFail(String(lines[6])) }
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch.first?["id"], .string("a"))
        XCTAssertNil(batch.last?["id"])
        XCTAssertNotNil(batch.last?["answer"])
    }

    /// A line is answered while the next has not been written yet: the output does not wait for
    /// a batch to fill or for the end of input.
    func testLinesAreAnsweredAsTheyArrive() throws {
        let model = try CLITestModel.folder().path
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["answer", "--model", model]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        signal(SIGPIPE, SIG_IGN)
        var pending = Data()
        /// The next output line, or nil when none comes within `seconds`.
        func nextLine(within seconds: Int32) -> String? {
            let fd = output.fileHandleForReading.fileDescriptor
            let deadline = Date().addingTimeInterval(TimeInterval(seconds))
            while Date() < deadline {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    defer { pending.removeSubrange(...newline) }
                    return String(decoding: pending[..<newline], as: UTF8.self)
                }
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 1000) > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return nil }
                pending.append(contentsOf: chunk[..<n])
            }
            return nil
        }
        let line = #"{"question": "Who?", "context": "Ann met Bob in Paris.", "id": N}"#
        for n in 1...3 {
            try input.fileHandleForWriting.write(contentsOf: Data((line.replacingOccurrences(of: "N", with: "\(n)") + "\n").utf8))
            // The model loads before the first answer; later ones take milliseconds.
            let answer = try XCTUnwrap(nextLine(within: n == 1 ? 120 : 30), "no answer to line \(n) while stdin stays open")
            XCTAssertTrue(answer.hasPrefix("{\"id\":\(n),"), answer)
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    /// --context-file: the same answer as the same text given with --context.
    func testContextFromAFile() throws {
        let model = try CLITestModel.folder().path
        let context = "Marie Curie won two Nobel prizes, in physics and in chemistry.\nShe was born in Warsaw."
        let file = try TinyModel.temporaryFolder("bertqa-context").appendingPathComponent("context.txt")
        try Data(context.utf8).write(to: file)
        let fromFile = try CLI.run(["answer", "--model", model, "--question", "Where was she born?", "--context-file", file.path])
        let inline = try CLI.run(["answer", "--model", model, "--question", "Where was she born?", "--context", context])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(fromFile.stdout, inline.stdout)
    }
}
