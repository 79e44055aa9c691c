import Foundation

/// The SentencePiece Unigram family (DeBERTa-v3, `deepset/deberta-v3-base-squad2`, XLM-R,
/// ALBERT) with `tokenizers` semantics: added tokens matched in the raw text, the normalizers
/// (Strip, SentencePiece's precompiled rules, Replace), the `Metaspace` pre-tokenizer (spaces as
/// "▁", one put before each stretch of text, split before each "▁"), Unigram, and the
/// post-processor's template. Offsets are in Unicode scalars of the original text; a "▁" that
/// stands for a space counts that space, one put before the text counts nothing of its own.
public final class SentencePieceTokenizer: QATokenizer {
    /// The normalizers, in order.
    enum NormalizerStep: Sendable {
        case strip(left: Bool, right: Bool)
        case precompiled(Precompiled)
        /// A literal (or " {2,}"-style repeated-character) pattern replaced by `content`.
        case replace(pattern: ReplacePattern, content: [UInt32])
        case nfkd
        case stripAccents
        case lowercase
    }
    enum ReplacePattern: Sendable {
        case literal([UInt32])
        /// `c{n,}`: a run of at least `n` of the character.
        case run(UInt32, atLeast: Int)
    }
    /// `Metaspace`'s `prepend_scheme`.
    enum PrependScheme: String, Sendable { case always, first, never }

    private let normalizers: [NormalizerStep]
    private let unigram: Unigram
    private let addedTokens: AddedTokens
    private let replacement: UInt32
    private let prependScheme: PrependScheme
    private let splitOnReplacement: Bool
    public let template: SpecialTokensTemplate
    public let padId: Int32
    public let vocabularySize: Int
    public let vocabularyPath: String

    init(normalizers: [NormalizerStep], unigram: Unigram, addedTokens: AddedTokens, replacement: UInt32,
         prependScheme: PrependScheme, split: Bool, template: SpecialTokensTemplate, padId: Int32,
         vocabularySize: Int, vocabularyPath: String) {
        self.normalizers = normalizers
        self.unigram = unigram
        self.addedTokens = addedTokens
        self.replacement = replacement
        self.prependScheme = prependScheme
        splitOnReplacement = split
        self.template = template
        self.padId = padId
        self.vocabularySize = vocabularySize
        self.vocabularyPath = vocabularyPath
    }

    public func tokenize(_ text: String) -> TokenSequence {
        addedTokens.tokenize(text, offsetsOfContent: false) { text, range, first, out, word in
            tokenizeSegment(text, range, first: first, &out, &word)
        }
    }

    private func tokenizeSegment(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, first: Bool,
                                 _ out: inout TokenSequence, _ word: inout Int32) {
        guard !range.isEmpty else { return }
        var s = NormalizedString(text, range)
        for step in normalizers {
            switch step {
            case .strip(let left, let right): s.strip(left: left, right: right)
            case .precompiled(let rules): rules.normalize(&s)
            case .replace(let pattern, let content): Self.replace(&s, pattern, content)
            case .nfkd: s.mapScalars { $0.value < 0xA0 ? [$0] : Array(String($0).decomposedStringWithCompatibilityMapping.unicodeScalars) }
            case .stripAccents:
                // Every mark (Mn, Mc, Me), as `tokenizers`' is_combining_mark.
                s.mapScalars {
                    if $0.value < 0x300 { return [$0] }  // no marks below U+0300
                    switch $0.properties.generalCategory {
                    case .nonspacingMark, .spacingMark, .enclosingMark: return []
                    default: return [$0]
                    }
                }
            case .lowercase:
                s.mapScalars { c in
                    if c.value < 0x80 {
                        return (0x41...0x5A).contains(c.value) ? [Unicode.Scalar(c.value + 0x20)!] : [c]
                    }
                    return Array(c.properties.lowercaseMapping.unicodeScalars)
                }
            }
        }
        guard !s.isEmpty else { return }
        // Metaspace: spaces become the replacement character, one goes before the text.
        for k in s.scalars.indices where s.scalars[k] == 0x20 { s.scalars[k] = replacement }
        let prepend = prependScheme == .always || (prependScheme == .first && first)
        if prepend, s.scalars.first != replacement { s.prepend(replacement) }
        // Split before each replacement character (MergedWithNext).
        var pieces: [Range<Int>] = []
        if splitOnReplacement {
            var start = 0
            for k in 1..<max(1, s.scalars.count) where s.scalars[k] == replacement {
                pieces.append(start..<k)
                start = k
            }
            pieces.append(start..<s.scalars.count)
        } else {
            pieces = [0..<s.scalars.count]
        }
        var ids: [Int32] = []
        var ranges: [Range<Int>] = []
        for piece in pieces where !piece.isEmpty {
            ids.removeAll(keepingCapacity: true)
            ranges.removeAll(keepingCapacity: true)
            unigram.segment(s.scalars, piece, ids: &ids, ranges: &ranges)
            for (id, r) in zip(ids, ranges) {
                out.ids.append(id)
                out.offsets.append(s.originalSpan(r))
                out.wordIds.append(word)
            }
            word += 1
        }
    }

    /// `Replace`: every non-overlapping match, left to right, becomes `content`.
    static func replace(_ s: inout NormalizedString, _ pattern: ReplacePattern, _ content: [UInt32]) {
        var matches: [Range<Int>] = []
        var i = 0
        let chars = s.scalars
        while i < chars.count {
            switch pattern {
            case .literal(let needle):
                if !needle.isEmpty, i + needle.count <= chars.count, Array(chars[i..<(i + needle.count)]) == needle {
                    matches.append(i..<(i + needle.count)); i += needle.count; continue
                }
            case .run(let c, let atLeast):
                if chars[i] == c {
                    var j = i
                    while j < chars.count, chars[j] == c { j += 1 }
                    if j - i >= atLeast { matches.append(i..<j); i = j; continue }
                    i = j; continue
                }
            }
            i += 1
        }
        for m in matches.reversed() { s.replaceMatch(m, with: content) }
    }
}
