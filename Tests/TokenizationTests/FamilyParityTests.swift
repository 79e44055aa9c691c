import Foundation
import Support
import TestSupport
import Tokenization
import XCTest

/// Each tokenizer family against what Hugging Face returns for a tokenizer of that family made
/// in the real checkpoints' configuration (scripts/fixtures/make_family_tokenizers.py): ids and
/// offsets of the edge-case texts (and the family's own special tokens written in text), QA
/// windows at several (max_length, stride) with the settings HF rejects, and digests of every
/// SQuAD v1.1 dev text. Each family is loaded from `tokenizer.json` and from its slow files.
final class FamilyParityTests: XCTestCase {
    static let fixtures = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/tokenizers")

    /// The folder as saved, and (`slowFiles`) a copy without tokenizer.json (the slow files
    /// alone, plus `extra` files taken from another fixture); each loaded both as the loader picks
    /// (a specialised tokenizer where the pipeline has a family's shape) and as the general
    /// pipeline, so both are held to HF's results.
    static func sources(_ family: String, slowFiles: Bool = true,
                        extra: [(from: String, name: String)] = []) throws -> [(String, any QATokenizer)] {
        let folder = fixtures.appendingPathComponent(family)
        var folders = [("\(family) tokenizer.json", folder)]
        if slowFiles {
            let slow = try TinyModel.temporaryFolder("slow-\(family)")
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name != "tokenizer.json" {
                try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: slow.appendingPathComponent(name))
            }
            for (from, name) in extra {
                try FileManager.default.copyItem(at: fixtures.appendingPathComponent(from).appendingPathComponent(name),
                                                 to: slow.appendingPathComponent(name))
            }
            folders.append(("\(family) slow files", slow))
        }
        var out: [(String, any QATokenizer)] = []
        for (label, url) in folders {
            let picked = try Tokenizers.load(directory: url)
            out.append(("\(label) (\(type(of: picked)))", picked))
            if !(picked is PipelineTokenizer) {
                out.append(("\(label) (general pipeline)", try Tokenizers.load(directory: url, general: true)))
            }
        }
        return out
    }

    static func cases(_ family: String) throws -> [JSONValue] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("\(family)-cases.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }

    static func ints(_ value: JSONValue?) -> [Int] {
        guard case .array(let items)? = value else { return [] }
        return items.map { if case .int(let n) = $0 { return n } else { return -1 } }
    }

    static func offsets(_ value: JSONValue?) -> [[Int]] {
        guard case .array(let items)? = value else { return [] }
        return items.map { ints($0) }
    }

    func testRoBERTa() throws { try checkFamily("roberta") }
    func testDeBERTaV3() throws { try checkFamily("deberta-v3") }
    func testXLMRoBERTa() throws { try checkFamily("xlm-roberta") }
    func testALBERT() throws { try checkFamily("albert") }
    /// DeBERTa-v3's `[UNK]` is a normalized added token: it is found after normalization, so the
    /// fullwidth forms match too. Expected: `AutoTokenizer.from_pretrained("Tests/Fixtures/tokenizers/deberta-v3")`
    /// on this text with `return_offsets_mapping=True` (transformers 4.57.6, tokenizers 0.22.2).
    func testDeBERTaV3NormalizedAddedToken() throws {
        let text = "a ［UNK］ b [UNK]c  ［ＵＮＫ］"
        for (label, tokenizer) in try Self.sources("deberta-v3") {
            let e = tokenizer.encode(text)
            XCTAssertEqual(e.inputIds, [1, 14, 8, 3, 133, 8, 3, 67, 8, 3, 2], label)
            XCTAssertEqual(e.offsets.map { [Int($0.start), Int($0.end)] },
                           [[0, 0], [0, 1], [1, 2], [2, 7], [7, 9], [9, 10], [10, 15], [15, 16], [17, 18], [18, 23], [0, 0]], label)
        }
    }

    func testDeBERTaV2SplitByPunct() throws {
        try checkFamily("deberta-v2-punct", extra: [("deberta-v3", "spm.model")])
    }
    func testDistilBERTCased() throws { try checkFamily("distilbert-cased") }
    func testELECTRA() throws { try checkFamily("electra") }
    // Pipelines no QA family uses as such: every component the reader implements (see the
    // fixture script for what each holds).
    func testGeneralWordPiece() throws { try checkFamily("generic-wordpiece", slowFiles: false) }
    func testGeneralBPE() throws { try checkFamily("generic-bpe", slowFiles: false) }
    func testGeneralByteFallback() throws { try checkFamily("generic-byte-fallback", slowFiles: false) }
    func testGeneralUnigram() throws { try checkFamily("generic-unigram", slowFiles: false) }
    func testGeneralByteLevel() throws { try checkFamily("generic-byte-level", slowFiles: false) }
    func testGeneralSplits() throws { try checkFamily("generic-splits", slowFiles: false) }

    func checkFamily(_ family: String, slowFiles: Bool = true, extra: [(from: String, name: String)] = []) throws {
        let cases = try Self.cases(family)
        for (label, tokenizer) in try Self.sources(family, slowFiles: slowFiles, extra: extra) {
            var texts = 0, pairs = 0, rejected = 0
            for c in cases {
                if case .string(let text)? = c["text"] {
                    let e = tokenizer.encode(text)
                    XCTAssertEqual(e.inputIds.map(Int.init), Self.ints(c["input_ids"]), "\(label): ids of \(text.debugDescription)")
                    XCTAssertEqual(e.offsets.map { [Int($0.start), Int($0.end)] }, Self.offsets(c["offsets"]),
                                   "\(label): offsets of \(text.debugDescription)")
                    texts += 1
                } else if case .string(let q)? = c["question"], case .string(let context)? = c["context"],
                          case .int(let maxLength)? = c["max_length"], case .int(let stride)? = c["stride"] {
                    let options = WindowOptions(maxLength: maxLength, stride: stride)
                    let what = "\(label): \(q.prefix(30).debugDescription) at \(maxLength)/\(stride)"
                    guard case .array(let expected)? = c["windows"] else {
                        XCTAssertThrowsError(try tokenizer.encodePair(question: q, context: context, options: options), what)
                        rejected += 1
                        continue
                    }
                    let windows = try tokenizer.encodePair(question: q, context: context, options: options)
                    XCTAssertEqual(windows.count, expected.count, "\(what): window count")
                    for (w, x) in zip(windows, expected) {
                        XCTAssertEqual(w.inputIds.map(Int.init), Self.ints(x["input_ids"]), "\(what): ids")
                        XCTAssertEqual(w.offsets.map { [Int($0.start), Int($0.end)] }, Self.offsets(x["offsets"]), "\(what): offsets")
                        guard case .array(let sequenceIds)? = x["sequence_ids"] else { return XCTFail("\(what): no sequence_ids") }
                        XCTAssertEqual(w.sequenceIds.map(Int.init), sequenceIds.map { if case .int(let n) = $0 { return n } else { return -1 } },
                                       "\(what): sequence ids")
                        XCTAssertEqual(tokenizer.returnsTokenTypeIds, x["token_type_ids"] != nil, "\(what): returns token_type_ids")
                        if x["token_type_ids"] != nil {
                            XCTAssertEqual(w.tokenTypeIds.map(Int.init), Self.ints(x["token_type_ids"]), "\(what): token types")
                        }
                    }
                    pairs += 1
                }
            }
            XCTAssertGreaterThanOrEqual(texts, 50, label)
            XCTAssertGreaterThanOrEqual(pairs, 10, label)
            XCTAssertGreaterThanOrEqual(rejected, 4, label)
            try checkDigests(tokenizer, cases, label)
        }
    }

    /// Every SQuAD v1.1 dev text (contexts and questions in file order), in chunks of 100,
    /// against HF's ids and offsets by an FNV-1a 64 digest per chunk.
    func checkDigests(_ tokenizer: any QATokenizer, _ cases: [JSONValue], _ label: String) throws {
        guard let dev = Golden.file("squad/dev-v1.1.json") else {
            print(Golden.skipMessage("squad/dev-v1.1.json") + " (\(label): SQuAD dev digests)")
            return
        }
        var texts: [String] = []
        if case .array(let articles)? = try JSONValue.load(contentsOf: dev)["data"] {
            for article in articles {
                guard case .array(let paragraphs)? = article["paragraphs"] else { continue }
                for paragraph in paragraphs {
                    if case .string(let context)? = paragraph["context"] { texts.append(context) }
                    guard case .array(let qas)? = paragraph["qas"] else { continue }
                    for qa in qas { if case .string(let q)? = qa["question"] { texts.append(q) } }
                }
            }
        }
        XCTAssertEqual(texts.count, 12_637)
        let tokens = tokenizer.tokenizeBatch(texts)
        var chunks = 0
        for c in cases {
            guard case .int(let chunk)? = c["chunk"], case .string(let expected)? = c["fnv1a64"] else { continue }
            var hash: UInt64 = 0xcbf29ce484222325
            func mix(_ v: Int32) {
                for shift in stride(from: 0, to: 32, by: 8) { hash = (hash ^ UInt64(UInt32(bitPattern: v) >> UInt32(shift) & 0xFF)) &* 0x100000001b3 }
            }
            for t in tokens[(chunk * 100)..<min(chunk * 100 + 100, tokens.count)] {
                for k in 0..<t.count { mix(t.ids[k]); mix(t.offsets[k].start); mix(t.offsets[k].end) }
            }
            let hex = String(hash, radix: 16)
            XCTAssertEqual(String(repeating: "0", count: 16 - hex.count) + hex, expected, "\(label): SQuAD dev texts \(chunk * 100)..<\(chunk * 100 + 100)")
            chunks += 1
        }
        XCTAssertEqual(chunks, 127, label)
    }
}
