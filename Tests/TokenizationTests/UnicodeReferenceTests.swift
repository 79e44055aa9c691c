import Foundation
import TestSupport
import Tokenization
import XCTest

/// Every Unicode code point against what Hugging Face `tokenizers` 0.22.2 does with it
/// (fixture made by scripts/fixtures/make_unicode_reference.py; no ../shared needed).
final class UnicodeReferenceTests: XCTestCase {
    struct Reference {
        var runs: [(ClosedRange<UInt32>, String)] = []
        var maps: [UInt32: (both: String, lower: String, strip: String)] = [:]
    }

    static let reference: Reference = {
        let url = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/unicode-bert-reference.txt")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var ref = Reference()
        func decode(_ field: Substring) -> String {
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            if trimmed == "-" { return "" }
            var view = String.UnicodeScalarView()
            for h in trimmed.split(separator: " ") { view.append(Unicode.Scalar(UInt32(h, radix: 16)!)!) }
            return String(view)
        }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 3)
            if parts[0] == "R" {
                ref.runs.append((UInt32(parts[1], radix: 16)!...UInt32(parts[2], radix: 16)!, String(parts[3])))
            } else {
                let cp = UInt32(parts[1], radix: 16)!
                let fields = line.split(separator: " ", maxSplits: 2)[2].split(separator: "|", omittingEmptySubsequences: false)
                ref.maps[cp] = (decode(fields[0]), decode(fields[1]), decode(fields[2]))
            }
        }
        return ref
    }()

    func testFixturePresent() {
        XCTAssertGreaterThan(Self.reference.runs.count, 100)
        XCTAssertGreaterThan(Self.reference.maps.count, 1000)
    }

    /// clean_text: dropped / turned into a space / kept; pre-tokenizer: punctuation or not.
    func testCleanTextAndPunctuationOfEveryCodePoint() {
        let clean = BertNormalizerOptions(cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false)
        var mismatches: [String] = []
        for (range, cls) in Self.reference.runs {
            for v in range {
                guard let scalar = Unicode.Scalar(v) else { continue }
                let ch = String(scalar)
                let normalized = clean.normalizeString(ch)
                let kind: Character = normalized.isEmpty ? "D" : (normalized == " " ? "W" : "K")
                let words = bertPreTokenize("a" + ch + "a")
                let punct: Character = (words.count == 3 && words[1] == ch) ? "P" : "N"
                let got = String([kind, punct])
                if got != cls && mismatches.count < 200 {
                    mismatches.append(String(format: "U+%04X: expected %@ got %@", v, cls, got))
                }
            }
        }
        XCTAssertEqual(mismatches, [], "code points classified differently from tokenizers")
    }

    /// lowercase and strip_accents, alone and together, for every code point.
    func testLowercaseAndStripAccentsOfEveryCodePoint() {
        let both = BertNormalizerOptions(cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: true)
        let lower = BertNormalizerOptions(cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true)
        let strip = BertNormalizerOptions(cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false)
        var mismatches: [String] = []
        for (range, _) in Self.reference.runs {
            for v in range {
                guard let scalar = Unicode.Scalar(v) else { continue }
                let ch = String(scalar)
                let expected = Self.reference.maps[v] ?? (ch, ch, ch)
                for (name, options, want) in [("lower+strip", both, expected.both), ("lower", lower, expected.lower), ("strip", strip, expected.strip)] {
                    let got = options.normalizeString(ch)
                    if !got.unicodeScalars.elementsEqual(want.unicodeScalars) && mismatches.count < 200 {
                        mismatches.append(String(format: "U+%04X %@: expected %@ got %@", v, name,
                            want.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " "),
                            got.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")))
                    }
                }
            }
        }
        XCTAssertEqual(mismatches, [], "normalization differs from tokenizers")
    }
}
