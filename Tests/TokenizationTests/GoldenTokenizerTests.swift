import Foundation
import TestSupport
import Tokenization
import XCTest

/// Parity with Hugging Face `BertTokenizerFast` on real SQuAD text (../shared/golden).
final class GoldenTokenizerTests: XCTestCase {
    static let tokenizer: BertTokenizer? = Golden.miniLM.flatMap { try? BertTokenizer(directory: $0) }

    private func requireTokenizer() throws -> BertTokenizer {
        guard let tokenizer = Self.tokenizer else {
            throw XCTSkip(Golden.skipMessage("models/all-MiniLM-L6-v2"))
        }
        return tokenizer
    }

    /// All 12,637 dev questions and contexts: identical input_ids and offsets.
    func testSquadDevEncodingsIdentical() throws {
        let tokenizer = try requireTokenizer()
        let path = "golden/tokenizer/squad-dev-encodings.jsonl"
        guard let url = Golden.file(path) else { throw XCTSkip(Golden.skipMessage(path)) }
        let lines = try Golden.jsonLines(url)
        XCTAssertEqual(lines.count, 12_637)
        let texts = lines.map { $0["text"] as! String }
        let encodings = texts.map { tokenizer.encode($0) }
        var failures = 0
        for (k, line) in lines.enumerated() {
            let ids = encodings[k].inputIds.map(Int.init)
            let offsets = encodings[k].offsets.map { [Int($0.start), Int($0.end)] }
            let wantIds = Golden.ints(line["input_ids"])!
            let wantOffsets = Golden.offsets(line["offsets"])!.map { $0! }
            if ids != wantIds || offsets != wantOffsets {
                failures += 1
                if failures <= 3 {
                    let first = zip(ids, wantIds).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                        ?? zip(offsets, wantOffsets).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
                    XCTFail("line \(k) (\(line["kind"] ?? "")) differs at token \(first): got \(ids.count) tokens, want \(wantIds.count)")
                }
            }
        }
        XCTAssertEqual(failures, 0, "texts whose encoding differs from BertTokenizerFast")
    }

    /// The first 300 dev questions windowed with small max_length/stride pairs.
    func testShortWindowFeaturesIdentical() throws {
        let tokenizer = try requireTokenizer()
        let path = "golden/features/short-window-features.jsonl"
        guard let url = Golden.file(path) else { throw XCTSkip(Golden.skipMessage(path)) }
        let squadPath = "squad/dev-v1.1.json"
        guard let squadURL = Golden.file(squadPath) else { throw XCTSkip(Golden.skipMessage(squadPath)) }
        let lines = try Golden.jsonLines(url)
        let examples = try Self.devExamples(squadURL, limit: 300)
        // Group reference windows by (max_length, stride), in order.
        var groups: [String: [[String: Any]]] = [:]
        var order: [String] = []
        for line in lines {
            let key = "\(line["max_length"]!)/\(line["stride"]!)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(line)
        }
        XCTAssertEqual(Set(order), ["64/16", "128/32", "100/50"])
        var failures = 0
        for key in order {
            let parts = key.split(separator: "/").map { Int($0)! }
            let options = WindowOptions(maxLength: parts[0], stride: parts[1])
            let windows = try tokenizer.encodePairs(examples.map { ($0.question, $0.context) }, options: options)
            let want = groups[key]!
            XCTAssertEqual(windows.count, want.count, "window count for \(key)")
            for (w, line) in zip(windows, want) {
                let seq: [Int?] = (0..<w.count).map { w.sequenceId(at: $0) }
                let wantSeq: [Int?] = (line["sequence_ids"] as! [Any]).map { $0 as? Int }
                let ok = w.inputIds.map(Int.init) == Golden.ints(line["input_ids"])!
                    && w.tokenTypeIds.map(Int.init) == Golden.ints(line["token_type_ids"])!
                    && seq == wantSeq
                    && w.offsets.map { [Int($0.start), Int($0.end)] } == Golden.offsets(line["offsets"])!.map { $0! }
                    && w.sampleIndex == line["example_index"] as! Int
                if !ok {
                    failures += 1
                    if failures <= 3 { XCTFail("window of example \(line["example_index"]!) at \(key) differs") }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    /// (question, context) of the first `limit` questions of a SQuAD file, in file order.
    static func devExamples(_ url: URL, limit: Int) throws -> [(question: String, context: String)] {
        let root = try Golden.json(url) as! [String: Any]
        var out: [(String, String)] = []
        for article in root["data"] as! [[String: Any]] {
            for paragraph in article["paragraphs"] as! [[String: Any]] {
                let context = paragraph["context"] as! String
                for qa in paragraph["qas"] as! [[String: Any]] {
                    out.append((qa["question"] as! String, context))
                    if out.count == limit { return out }
                }
            }
        }
        return out
    }
}
