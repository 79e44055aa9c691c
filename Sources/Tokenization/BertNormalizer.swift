import Foundation

/// Options of Hugging Face's `BertNormalizer` (tokenizer.json `normalizer`).
public struct BertNormalizerOptions: Sendable, Equatable {
    /// Drop control characters, U+0000 and U+FFFD; turn every whitespace into a space.
    public var cleanText: Bool
    /// Put spaces around CJK ideographs so that each becomes a word.
    public var handleChineseChars: Bool
    /// NFD-decompose and drop nonspacing marks. `nil` follows `lowercase`, as in HF.
    public var stripAccents: Bool?
    /// Lowercase every character (full Unicode mapping, one character at a time).
    public var lowercase: Bool

    public init(cleanText: Bool = true, handleChineseChars: Bool = true,
                stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    var effectiveStripAccents: Bool { stripAccents ?? lowercase }
}

/// Normalized text that remembers, for each normalized scalar, the index of the original
/// scalar it came from. Offsets of tokens are read back through `origins`, which is how
/// Hugging Face's `NormalizedString` alignments work for BERT's one-to-many transforms.
struct NormalizedText {
    var scalars: [UInt32] = []
    var origins: [Int32] = []

    mutating func removeAll() {
        scalars.removeAll(keepingCapacity: true)
        origins.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func append(_ v: UInt32, from origin: Int) {
        scalars.append(v)
        origins.append(Int32(truncatingIfNeeded: origin))
    }
}

extension BertNormalizerOptions {
    /// Appends the normalization of `text[range]` (scalar values) to `out`.
    /// Steps in HF's order: clean text, CJK spacing, strip accents, lowercase.
    func normalize(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, into out: inout NormalizedText) {
        let strip = effectiveStripAccents
        for i in range {
            var v = text[i]
            if v < 0x80 {
                // ASCII: the common case, no table look-ups beyond control/whitespace.
                if cleanText {
                    if v < 0x20 || v == 0x7F {
                        if v == 0x09 || v == 0x0A || v == 0x0D { v = 0x20 } else { continue }
                    }
                }
                if lowercase, v >= 0x41, v <= 0x5A { v += 0x20 }
                out.append(v, from: i)
                continue
            }
            let flags = charClasses(v)
            if cleanText {
                if v == 0xFFFD || flags & CharClass.control != 0 { continue }
                if flags & CharClass.whitespace != 0 { out.append(0x20, from: i); continue }
            }
            if handleChineseChars, flags & CharClass.chinese != 0 {
                out.append(0x20, from: i)
                out.append(v, from: i)
                out.append(0x20, from: i)
                continue
            }
            if !strip && !lowercase {
                out.append(v, from: i)
                continue
            }
            if strip {
                for d in decompose(v) where charClasses(d) & CharClass.nonspacingMark == 0 {
                    appendLowercased(d, from: i, into: &out)
                }
            } else {
                appendLowercased(v, from: i, into: &out)
            }
        }
    }

    @inline(__always)
    private func appendLowercased(_ v: UInt32, from origin: Int, into out: inout NormalizedText) {
        guard lowercase else { out.append(v, from: origin); return }
        if v < 0x80 {
            out.append((v >= 0x41 && v <= 0x5A) ? v + 0x20 : v, from: origin)
            return
        }
        guard let scalar = Unicode.Scalar(v) else { out.append(v, from: origin); return }
        let properties = scalar.properties
        if !properties.changesWhenLowercased {
            out.append(v, from: origin)
            return
        }
        for s in properties.lowercaseMapping.unicodeScalars { out.append(s.value, from: origin) }
    }
}

/// Canonical decomposition (NFD) of one scalar. Swift's standard library has no public NFD,
/// so non-ASCII scalars go through Foundation; the results are cached per thread-free table
/// for the Latin ranges that real text hits most.
@inline(__always)
func decompose(_ v: UInt32) -> [UInt32] {
    if v < 0xC0 { return [v] }
    if v < 0x250 { return latinDecompositions[Int(v - 0xC0)] }
    guard let scalar = Unicode.Scalar(v) else { return [v] }
    // tokenizers' NFD tables predate Unicode 13 (U+11938, its only later canonical
    // decomposition that Swift knows, stays whole there).
    if let age = scalar.properties.age, age.major >= 13 { return [v] }
    let s = String(Character(scalar)).decomposedStringWithCanonicalMapping
    return s.unicodeScalars.map(\.value)
}

/// NFD of U+00C0...U+024F (Latin-1 Supplement, Latin Extended-A/B), computed once.
let latinDecompositions: [[UInt32]] = (0xC0..<0x250).map { v in
    let scalar = Unicode.Scalar(UInt32(v))!
    return String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars.map(\.value)
}

extension BertNormalizerOptions {
    /// The normalized string, like `tokenizers`' `BertNormalizer.normalize_str`.
    public func normalizeString(_ text: String) -> String {
        let scalars = text.unicodeScalars.map(\.value)
        var out = NormalizedText()
        scalars.withUnsafeBufferPointer { normalize($0, 0..<$0.count, into: &out) }
        var result = String.UnicodeScalarView()
        for v in out.scalars { if let s = Unicode.Scalar(v) { result.append(s) } }
        return String(result)
    }
}

/// BERT's pre-tokenizer on its own: the words of `text` (split on whitespace, punctuation
/// isolated), like `tokenizers`' `BertPreTokenizer.pre_tokenize_str` without offsets.
public func bertPreTokenize(_ text: String) -> [String] {
    var words: [String] = []
    var current = String.UnicodeScalarView()
    for s in text.unicodeScalars {
        let flags = charClasses(s.value)
        if flags & (CharClass.whitespace | CharClass.punctuation) != 0 {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
            if flags & CharClass.whitespace == 0 { words.append(String(s)) }
        } else {
            current.append(s)
        }
    }
    if !current.isEmpty { words.append(String(current)) }
    return words
}
