import Foundation
import TestSupport
import Tokenization
import XCTest

/// Edge cases against BertTokenizerFast outputs recorded by scripts/fixtures/make_tokenizer_cases.py:
/// accents (precomposed and combining), CJK, emoji and other astral characters, control
/// characters, NBSP / zero-width / ideographic spaces, words over 100 characters, empty and
/// whitespace-only text, literal special tokens, windows and rejected window settings.
/// Uses the MiniLM vocabulary copied into Tests/Fixtures, so it runs without ../shared.
final class TokenizerCaseTests: XCTestCase {
    static let fixtures = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures")

    static func load() throws -> BertTokenizer {
        try BertTokenizer(directory: fixtures.appendingPathComponent("minilm-tokenizer"))
    }

    static func cases() throws -> [[String: Any]] {
        try Golden.jsonLines(fixtures.appendingPathComponent("tokenizer-cases.jsonl"))
    }

    func testSingleTextCases() throws {
        let tokenizer = try Self.load()
        var checked = 0
        for line in try Self.cases() where line["text"] != nil {
            let text = line["text"] as! String
            let encoding = tokenizer.encode(text)
            XCTAssertEqual(encoding.inputIds.map(Int.init), Golden.ints(line["input_ids"])!, "ids of \(text.debugDescription)")
            XCTAssertEqual(encoding.offsets.map { [Int($0.start), Int($0.end)] },
                           Golden.offsets(line["offsets"])!.map { $0! }, "offsets of \(text.debugDescription)")
            XCTAssertEqual(encoding.wordIds.map { $0 < 0 ? nil : Int($0) }, (line["word_ids"] as! [Any]).map { $0 as? Int },
                           "word ids of \(text.debugDescription)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 40)
    }

    func testPairWindowCases() throws {
        let tokenizer = try Self.load()
        var checked = 0
        for line in try Self.cases() where line["question"] != nil {
            let options = WindowOptions(maxLength: line["max_length"] as! Int, stride: line["stride"] as! Int)
            let question = line["question"] as! String, context = line["context"] as! String
            let label = "\(question.prefix(20))… max_length \(options.maxLength) stride \(options.stride)"
            if line["error"] != nil {
                XCTAssertThrowsError(try tokenizer.encodePair(question: question, context: context, options: options), label) { error in
                    XCTAssertTrue(error is TokenizerError, "typed error for \(label)")
                }
                checked += 1
                continue
            }
            let windows = try tokenizer.encodePair(question: question, context: context, options: options)
            let want = line["windows"] as! [[String: Any]]
            XCTAssertEqual(windows.count, want.count, label)
            for (w, ref) in zip(windows, want) {
                XCTAssertEqual(w.inputIds.map(Int.init), Golden.ints(ref["input_ids"])!, label)
                XCTAssertEqual(w.tokenTypeIds.map(Int.init), Golden.ints(ref["token_type_ids"])!, label)
                XCTAssertEqual(w.offsets.map { [Int($0.start), Int($0.end)] }, Golden.offsets(ref["offsets"])!.map { $0! }, label)
                XCTAssertEqual((0..<w.count).map { w.sequenceId(at: $0) }, (ref["sequence_ids"] as! [Any]).map { $0 as? Int }, label)
                XCTAssertEqual(w.wordIds.map { $0 < 0 ? nil : Int($0) }, (ref["word_ids"] as! [Any]).map { $0 as? Int }, label)
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
    }

    func testErrorsSayWhatIsWrong() throws {
        let tokenizer = try Self.load()
        let long = String(repeating: "word ", count: 50)
        XCTAssertThrowsError(try tokenizer.encodePair(question: long, context: long, options: WindowOptions(maxLength: 32, stride: 4))) {
            XCTAssertEqual($0 as? TokenizerError, .questionTooLong(questionTokens: 50, maxLength: 32))
            XCTAssertTrue("\($0)".contains("question is too long"))
        }
        XCTAssertThrowsError(try tokenizer.encodePair(question: "q", context: long, options: WindowOptions(maxLength: 16, stride: 12))) {
            XCTAssertEqual($0 as? TokenizerError, .strideTooLarge(stride: 12, contextRoom: 12))
        }
        for (m, s) in [(3, 0), (16, -1), (16, 15)] {
            XCTAssertThrowsError(try tokenizer.encodePair(question: "q", context: "c", options: WindowOptions(maxLength: m, stride: s))) {
                guard case .invalidOption = $0 as? TokenizerError else { return XCTFail("\($0)") }
            }
        }
    }

    func testPaddingToMaxLengthAndLongest() throws {
        let tokenizer = try Self.load()
        let context = String(repeating: "alpha beta gamma ", count: 10)
        let options = WindowOptions(maxLength: 24, stride: 4, padding: .maxLength)
        let windows = try tokenizer.encodePair(question: "what?", context: context, options: options)
        XCTAssertGreaterThan(windows.count, 1)
        for w in windows {
            XCTAssertEqual(w.count, 24)
            let pad = w.inputIds.firstIndex(of: tokenizer.padId) ?? w.count
            XCTAssertEqual(w.attentionMask, Array(repeating: 1, count: pad) + Array(repeating: 0, count: 24 - pad))
            XCTAssertTrue(w.offsets[pad...].allSatisfy { $0 == .zero })
            XCTAssertTrue(w.sequenceIds[pad...].allSatisfy { $0 == -1 })
        }
        let longest = try tokenizer.encodePairs([("a?", "short"), ("b?", "a somewhat longer context here")],
                                                options: WindowOptions(maxLength: 64, stride: 8, padding: .longest))
        XCTAssertEqual(longest.map(\.count), [longest[1].length, longest[1].length])
        XCTAssertEqual(longest.map(\.sampleIndex), [0, 1])
        XCTAssertLessThan(longest[0].length, longest[1].length)
    }

    func testBatchEqualsOneByOne() throws {
        let tokenizer = try Self.load()
        let texts = try Self.cases().compactMap { $0["text"] as? String }
        let batch = tokenizer.tokenizeBatch(texts + texts + texts)
        for (k, text) in (texts + texts + texts).enumerated() {
            XCTAssertEqual(batch[k], tokenizer.tokenize(text))
        }
    }
}

/// Loading model folders that are missing pieces or broken.
final class TokenizerLoadingTests: XCTestCase {
    private func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bertqa-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, content) in files {
            try Data(content.utf8).write(to: dir.appendingPathComponent(name))
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    private let minimalVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\nworld\n"

    func testMinimalVocabularyWorks() throws {
        let tokenizer = try BertTokenizer(directory: folder(["vocab.txt": minimalVocab]))
        XCTAssertEqual(tokenizer.encode("Hellos WORLD xyz").inputIds, [2, 4, 5, 6, 1, 3])
    }

    func testMissingFolderAndVocabulary() throws {
        XCTAssertThrowsError(try BertTokenizer(directory: URL(fileURLWithPath: "/nonexistent/model"))) {
            XCTAssertEqual($0 as? TokenizerError, .fileNotFound(path: "/nonexistent/model"))
        }
        let empty = try folder([:])
        XCTAssertThrowsError(try BertTokenizer(directory: empty)) {
            XCTAssertEqual($0 as? TokenizerError, .fileNotFound(path: empty.appendingPathComponent("vocab.txt").path))
        }
    }

    func testVocabularyWithoutSpecialTokens() throws {
        for missing in ["[CLS]", "[SEP]", "[UNK]", "[PAD]"] {
            let vocab = minimalVocab.replacingOccurrences(of: missing + "\n", with: "")
            let dir = try folder(["vocab.txt": vocab])
            XCTAssertThrowsError(try BertTokenizer(directory: dir)) {
                XCTAssertEqual($0 as? TokenizerError,
                               .missingSpecialToken(token: missing, path: dir.appendingPathComponent("vocab.txt").path))
                XCTAssertTrue("\($0)".contains(missing))
            }
        }
    }

    func testMalformedTokenizerJSON() throws {
        for (content, fragment) in [("{not json", "not valid JSON"), ("[1, 2]", "not a JSON object"),
                                    ("{\"normalizer\": {\"type\": \"Lowercase\"}}", "unsupported normalizer"),
                                    ("{\"model\": {\"type\": \"BPE\"}}", "unsupported model"),
                                    ("{\"added_tokens\": 5}", "added_tokens")] {
            let dir = try folder(["vocab.txt": minimalVocab, "tokenizer.json": content])
            XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in
                guard case .malformedFile(let path, let reason) = error as? TokenizerError else { return XCTFail("\(error)") }
                XCTAssertTrue(path.hasSuffix("tokenizer.json"))
                XCTAssertTrue(reason.contains(fragment), "\(reason) should mention \(fragment)")
            }
        }
    }

    func testUnreadableAndBinaryVocabulary() throws {
        let dir = try folder([:])
        try Data([0xFF, 0xFE, 0x00, 0xC3]).write(to: dir.appendingPathComponent("vocab.txt"))
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) {
            guard case .malformedFile = $0 as? TokenizerError else { return XCTFail("\($0)") }
        }
        let dir2 = try folder([:])
        try FileManager.default.createDirectory(at: dir2.appendingPathComponent("vocab.txt"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try BertTokenizer(directory: dir2)) {
            guard case .unreadableFile = $0 as? TokenizerError else { return XCTFail("\($0)") }
        }
    }

    func testNormalizerOptionsFromTokenizerJSON() throws {
        let json = """
        {"normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
         "strip_accents": null, "lowercase": false}, "model": {"type": "WordPiece", "unk_token": "[UNK]"}}
        """
        let tokenizer = try BertTokenizer(directory: folder(["vocab.txt": minimalVocab + "Hello\n", "tokenizer.json": json]))
        XCTAssertEqual(tokenizer.files.normalizer.lowercase, false)
        XCTAssertNil(tokenizer.files.normalizer.stripAccents)
        XCTAssertEqual(tokenizer.encode("Hello hello").inputIds, [2, 7, 4, 3])
    }
}
