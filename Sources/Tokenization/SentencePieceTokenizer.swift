import Foundation

/// The SentencePiece Unigram family (DeBERTa-v3, `deepset/deberta-v3-base-squad2`, XLM-R,
/// ALBERT) with `tokenizers` semantics: added tokens matched in the raw text, the normalizers
/// (Strip, SentencePiece's precompiled rules, Replace), the `Metaspace` pre-tokenizer (spaces as
/// "▁", one put before each stretch of text, split before each "▁"), Unigram, and the
/// post-processor's template. Offsets are in Unicode scalars of the original text; a "▁" that
/// stands for a space counts that space, one put before the text counts nothing of its own.
public final class SentencePieceTokenizer: QATokenizer {

    private let normalizers: [Normalizer]
    private let unigram: Unigram
    private let addedTokens: AddedTokens
    /// Added tokens matched in the normalized text (DeBERTa-v3's `[UNK]` is one).
    private let normalizedAddedTokens: AddedTokens
    private let replacement: UInt32
    private let prependScheme: PrependScheme
    private let splitOnReplacement: Bool
    public let template: SpecialTokensTemplate
    public let padId: Int32
    public let vocabularySize: Int
    public let vocabularyPath: String
    public let returnsTokenTypeIds: Bool

    init(normalizers: [Normalizer], unigram: Unigram, addedTokens: AddedTokens, normalizedAddedTokens: AddedTokens, replacement: UInt32,
         prependScheme: PrependScheme, split: Bool, template: SpecialTokensTemplate, padId: Int32,
         vocabularySize: Int, vocabularyPath: String, returnsTokenTypeIds: Bool) {
        self.returnsTokenTypeIds = returnsTokenTypeIds
        self.normalizers = normalizers
        self.unigram = unigram
        self.addedTokens = addedTokens
        self.normalizedAddedTokens = normalizedAddedTokens
        self.replacement = replacement
        self.prependScheme = prependScheme
        splitOnReplacement = split
        self.template = template
        self.padId = padId
        self.vocabularySize = vocabularySize
        self.vocabularyPath = vocabularyPath
    }

    public func tokenize(_ text: String) -> TokenSequence {
        addedTokens.tokenize(text, offsetsOfContent: false) { text, range, _, out, word in
            tokenizeSegment(text, range, &out, &word)
        }
    }

    private func tokenizeSegment(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>,
                                 _ out: inout TokenSequence, _ word: inout Int32) {
        guard !range.isEmpty else { return }
        var s = NormalizedString(text, range)
        for step in normalizers { step.apply(to: &s) }
        guard !s.isEmpty else { return }
        if normalizedAddedTokens.isEmpty { return tokenizePiece(s, &out, &word) }
        // Added tokens in the normalized text; each stretch between them is a piece of its own.
        let matches = s.scalars.withUnsafeBufferPointer { normalizedAddedTokens.matches(in: $0) }
        var at = 0
        for m in matches {
            if at < m.range.lowerBound { tokenizePiece(s.slice(at..<m.range.lowerBound), &out, &word) }
            out.ids.append(m.id)
            out.offsets.append(s.originalSpan(m.range))
            out.wordIds.append(word)
            word += 1
            at = m.range.upperBound
        }
        if at < s.scalars.count { tokenizePiece(s.slice(at..<s.scalars.count), &out, &word) }
    }

    /// Metaspace and Unigram on one normalized piece.
    private func tokenizePiece(_ piece: NormalizedString, _ out: inout TokenSequence, _ word: inout Int32) {
        var s = piece
        // Metaspace: spaces become the replacement character, one goes before the text (with
        // `first`, only before a piece that starts the original text, as tokenizers decides it).
        for k in s.scalars.indices where s.scalars[k] == 0x20 { s.scalars[k] = replacement }
        let prepend = prependScheme == .always || (prependScheme == .first && s.spans[0].start == 0)
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
}
