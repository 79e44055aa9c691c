import Foundation

/// The byte-level BPE family (RoBERTa, `deepset/roberta-base-squad2`, GPT-2 vocabularies)
/// with `tokenizers` semantics: added tokens matched in the raw text, the `ByteLevel`
/// pre-tokenizer (GPT-2's pattern, bytes as printable characters), BPE, and the post-processor's
/// template and offset trimming. Offsets are in Unicode scalars of the original text, a token
/// that holds only part of a character's bytes covering the whole character, as HF reports.
public final class ByteLevelBPETokenizer: QATokenizer {
    private let bpe: BPE
    private let unkId: Int32?
    private let addedTokens: AddedTokens
    /// The id of each byte's one-character symbol (nil when the vocabulary lacks it).
    private let byteIds: [Int32?]
    private let addPrefixSpace: Bool
    private let useRegex: Bool
    /// Offsets without the spaces a token starts or ends with (the post-processor's `trim_offsets`).
    private let trimOffsets: Bool
    public let template: SpecialTokensTemplate
    public let padId: Int32
    public let vocabularySize: Int
    public let vocabularyPath: String
    public let returnsTokenTypeIds: Bool

    struct Settings {
        var addPrefixSpace = false
        var useRegex = true
        var trimOffsets = true
    }

    init(model: BPEModel, addedTokens: AddedTokens, settings: Settings, template: SpecialTokensTemplate,
         padId: Int32, vocabularyPath: String, returnsTokenTypeIds: Bool) {
        self.returnsTokenTypeIds = returnsTokenTypeIds
        bpe = model.bpe
        unkId = model.unkId
        self.addedTokens = addedTokens
        byteIds = ByteLevel.byteToScalar.map { model.vocabulary.id(CollectionOfOne($0)) }
        addPrefixSpace = settings.addPrefixSpace
        useRegex = settings.useRegex
        trimOffsets = settings.trimOffsets
        self.template = template
        self.padId = padId
        vocabularySize = max(model.vocabulary.size, Int(addedTokens.maxId ?? -1) + 1)
        self.vocabularyPath = vocabularyPath
    }

    public func tokenize(_ text: String) -> TokenSequence {
        addedTokens.tokenize(text, offsetsOfContent: trimOffsets) { text, range, _, out, word in
            tokenizeSegment(text, range, &out, &word)
        }
    }

    /// One stretch of text between added tokens: pieces by GPT-2's pattern, each piece's bytes
    /// merged by BPE.
    private func tokenizeSegment(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>,
                                 _ out: inout TokenSequence, _ word: inout Int32) {
        guard !range.isEmpty else { return }
        var pieces: [Range<Int>] = []
        if useRegex { ByteLevel.split(text, range, into: &pieces) } else { pieces = [range] }
        // A space before the segment (`add_prefix_space`) when it does not start with one; it
        // stands at the first character's place, as `tokenizers` aligns a prepended character.
        let prefixed = addPrefixSpace && text[range.lowerBound] != 0x20
        var bytes: [UInt8] = []
        var charOf: [Int] = []  // each byte's character index in the text
        var symbols: [Int32] = []
        var spans: [Range<Int>] = []
        for (n, piece) in pieces.enumerated() {
            bytes.removeAll(keepingCapacity: true)
            charOf.removeAll(keepingCapacity: true)
            if prefixed && n == 0 { bytes.append(0x20); charOf.append(piece.lowerBound) }
            for k in piece {
                guard let scalar = Unicode.Scalar(text[k]) else { continue }
                for b in UTF8.encode(scalar)! { bytes.append(b); charOf.append(k) }
            }
            symbols.removeAll(keepingCapacity: true)
            spans.removeAll(keepingCapacity: true)
            for (k, b) in bytes.enumerated() {
                // A byte without a symbol is dropped, as BPE without an unknown token does.
                guard let id = byteIds[Int(b)] ?? unkId else { continue }
                symbols.append(id)
                spans.append(k..<(k + 1))
            }
            bpe.merge(&symbols, &spans)
            for (id, span) in zip(symbols, spans) {
                var start = charOf[span.lowerBound], end = charOf[span.upperBound - 1] + 1
                if trimOffsets {
                    var leading = 0, trailing = 0
                    while span.lowerBound + leading < span.upperBound, bytes[span.lowerBound + leading] == 0x20 { leading += 1 }
                    while trailing < span.count, bytes[span.upperBound - 1 - trailing] == 0x20 { trailing += 1 }
                    // The first token keeps the one space `add_prefix_space` put there.
                    if prefixed, n == 0, span.lowerBound == 0, leading == 1 { leading = 0 }
                    if leading > 0 { start = min(start + leading, end) }
                    if trailing > 0, end >= trailing { end = max(end - trailing, start) }
                }
                out.ids.append(id)
                out.offsets.append(TokenOffset(start, end))
                out.wordIds.append(word)
            }
            word += 1
        }
    }
}
