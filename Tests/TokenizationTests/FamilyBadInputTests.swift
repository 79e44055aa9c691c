import Foundation
import TestSupport
import Tokenization
import XCTest

/// Broken byte-level BPE folders: each gives one typed error that names the file and the
/// problem, never a crash or a silent fallback.
final class FamilyBadInputTests: XCTestCase {
    /// A copy of the RoBERTa fixture with `change` applied; `slow` drops tokenizer.json.
    func folder(_ family: String = "roberta", slow: Bool = false, _ change: (URL) throws -> Void) throws -> URL {
        let source = FamilyParityTests.fixtures.appendingPathComponent(family)
        let copy = try TinyModel.temporaryFolder("bad-\(family)")
        try FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: source, to: copy)
        if slow { try FileManager.default.removeItem(at: copy.appendingPathComponent("tokenizer.json")) }
        try change(copy)
        return copy
    }

    func edit(_ url: URL, _ transform: (String) -> String) throws {
        try transform(String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
    }

    /// Unigram scores so low that every path sums to -inf (the sentencepiece fuzzer's find): each
    /// character still gets a token, never an id of -1, on the fast and the general path.
    func testUnigramScoresBeyondTheFloatRange() throws {
        let dir = try folder("deberta-v3") { try self.edit($0.appendingPathComponent("tokenizer.json")) { text in
            let regex = try! NSRegularExpression(pattern: #"(\n\s*)-?[0-9]+\.[0-9e+-]*(\n\s*\])"#)
            return regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1-1e308$2")
        } }
        for general in [false, true] {
            let tokenizer = try Tokenizers.load(directory: dir, general: general)
            let tokens = tokenizer.tokenize("Hello, world! naïve 😀")
            XCTAssertFalse(tokens.ids.isEmpty)
            XCTAssertTrue(tokens.ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }, "\(general): \(tokens.ids)")
        }
    }

    func testEachBrokenFileIsNamed() throws {
        let cases: [(String, URL, String, String)] = [
            ("truncated tokenizer.json", try folder { try self.edit($0.appendingPathComponent("tokenizer.json")) { String($0.prefix(500)) } },
             "tokenizer.json", "not valid JSON"),
            ("unknown model", try folder { try self.edit($0.appendingPathComponent("tokenizer.json")) { $0.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"Mystery\"") } },
             "tokenizer.json", "unsupported model Mystery"),
            ("unknown pre-tokenizer", try folder { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"pre_tokenizer\": {\n    \"type\": \"ByteLevel\"", with: "\"pre_tokenizer\": {\n    \"type\": \"UnicodeScripts\"") } },
             "tokenizer.json", "unsupported pre-tokenizer UnicodeScripts"),
            ("merge of unknown tokens", try folder { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"merges\": [", with: "\"merges\": [\n      \"qqqq zzzz\",") } },
             "tokenizer.json", "missing from the vocabulary"),
            ("slow: malformed merges.txt", try folder(slow: true) { try self.edit($0.appendingPathComponent("merges.txt")) { $0 + "onlyone\n" } },
             "merges.txt", "is not \"left right\""),
            ("slow: merges of unknown tokens", try folder(slow: true) { try self.edit($0.appendingPathComponent("merges.txt")) { $0 + "qqqq zzzz\n" } },
             "merges.txt", "missing from the vocabulary"),
            ("slow: empty vocabulary", try folder(slow: true) { try "{}".write(to: $0.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8) },
             "vocab.json", "empty"),
            ("slow: binary vocabulary", try folder(slow: true) { try Data([0xFF, 0x00, 0x7B]).write(to: $0.appendingPathComponent("vocab.json")) },
             "vocab.json", "not valid JSON"),
            ("unigram: unknown normalizer", try folder("deberta-v3") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"type\": \"Strip\"", with: "\"type\": \"Cyrillic\"") } },
             "tokenizer.json", "unsupported normalizer Cyrillic"),
            ("unigram: charsmap not base64", try folder("deberta-v3") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"precompiled_charsmap\": \"", with: "\"precompiled_charsmap\": \"!!") } },
             "tokenizer.json", "not base64"),
            ("unigram: charsmap cut short", try folder("deberta-v3") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"precompiled_charsmap\": \"ALwCAAC", with: "\"precompiled_charsmap\": \"AAAAAQ==\", \"x\": \"") } },
             "tokenizer.json", "trie size"),
            ("unigram: unk_id outside the vocabulary", try folder("deberta-v3") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"unk_id\": 3", with: "\"unk_id\": 99999") } },
             "tokenizer.json", "outside the vocabulary"),
            ("unigram: a regex that does not compile", try folder("deberta-v3") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\" {2,}\"", with: "\"[a-z+\"") } },
             "tokenizer.json", "the regular expression \"[a-z+\" does not compile"),
            ("sentencepiece: garbage model file", try folder("deberta-v3", slow: true) { try Data([0x0A, 0xFF, 0xFF, 0x01, 0x02]).write(to: $0.appendingPathComponent("spm.model")) },
             "spm.model", "not a SentencePiece model"),
            ("sentencepiece: truncated model file", try folder("deberta-v3", slow: true) {
                let url = $0.appendingPathComponent("spm.model")
                try Data(try Data(contentsOf: url).prefix(1000)).write(to: url) },
             "spm.model", "not a SentencePiece model"),
            ("BPE dropout (it samples)", try folder { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"dropout\": null", with: "\"dropout\": 0.1") } },
             "tokenizer.json", "unsupported BPE dropout 0.1"),
            ("unknown normalizer", try folder("generic-unigram") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"type\": \"NFKD\"", with: "\"type\": \"Nmt\"") } },
             "tokenizer.json", "unsupported normalizer Nmt"),
            ("unknown split behavior", try folder("generic-unigram") { try self.edit($0.appendingPathComponent("tokenizer.json")) {
                $0.replacingOccurrences(of: "\"behavior\": \"Isolated\"", with: "\"behavior\": \"Sideways\"") } },
             "tokenizer.json", "unsupported pre-tokenizer split behavior Sideways"),
            ("slow: ids of the wrong type", try folder(slow: true) { try #"{"a": "1"}"#.write(to: $0.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8) },
             "vocab.json", "the id of \"a\" is not an integer"),
        ]
        for (label, folder, file, mention) in cases {
            XCTAssertThrowsError(try Tokenizers.load(directory: folder), label) { error in
                guard case .malformedFile(let path, let reason)? = error as? TokenizerError else { return XCTFail("\(label): \(error)") }
                XCTAssertTrue(path.hasSuffix(file), "\(label): \(path)")
                XCTAssertTrue(reason.contains(mention), "\(label): \(reason) should mention \(mention)")
                XCTAssertFalse("\(error)".contains("\n"), "\(label): one line")
            }
        }
    }
}
