/// A tokenizer as `tokenizer.json` describes it, whatever its components: added tokens matched
/// in the raw text, the normalizers, added tokens matched in the normalized text, the
/// pre-tokenizers, the model, and the post-processor's template and offset trimming — each step
/// as `tokenizers` runs it. The families the QA checkpoints use also have specialised, faster
/// tokenizers (`BertTokenizer`, `ByteLevelBPETokenizer`, `SentencePieceTokenizer`); the loader
/// picks one of those when the pipeline has that family's shape and this one otherwise.
public final class PipelineTokenizer: QATokenizer {
    let spec: TokenizerPipeline
    private let addedTokens: AddedTokens
    private let normalizedAddedTokens: AddedTokens
    public var template: SpecialTokensTemplate { spec.template }
    public var padId: Int32 { spec.padId }
    public var vocabularySize: Int { spec.vocabularySize }
    public var vocabularyPath: String { spec.vocabularyPath }
    public var returnsTokenTypeIds: Bool { spec.returnsTokenTypeIds }

    init(_ spec: TokenizerPipeline) {
        self.spec = spec
        addedTokens = AddedTokens(spec.addedTokens)
        normalizedAddedTokens = AddedTokens(spec.normalizedAddedTokens)
    }

    public func tokenize(_ text: String) -> TokenSequence {
        addedTokens.tokenize(text, offsetsOfContent: spec.trimOffsets) { text, range, _, out, word in
            tokenizeSegment(text, range, &out, &word)
        }
    }

    /// One stretch of text between raw-text added tokens.
    private func tokenizeSegment(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>,
                                 _ out: inout TokenSequence, _ word: inout Int32) {
        guard !range.isEmpty else { return }
        var s = NormalizedString(text, range)
        for n in spec.normalizers { n.apply(to: &s) }
        guard !s.isEmpty else { return }
        var p = PreTokenized(s: s, pieces: [])
        if normalizedAddedTokens.isEmpty {
            p.pieces = [.text(0..<s.scalars.count)]
        } else {
            var at = 0
            let matches = s.scalars.withUnsafeBufferPointer { normalizedAddedTokens.matches(in: $0) }
            for m in matches {
                if at < m.range.lowerBound { p.pieces.append(.text(at..<m.range.lowerBound)) }
                p.pieces.append(.token(m.id, s.originalSpan(m.range), s.scalars[m.range]))
                at = m.range.upperBound
            }
            if at < s.scalars.count { p.pieces.append(.text(at..<s.scalars.count)) }
        }
        for pre in spec.preTokenizers { pre.apply(to: &p) }
        var tokens: [(id: Int32, range: Range<Int>)] = []
        for piece in p.pieces {
            switch piece {
            case .token(let id, let offset, let value):
                append(id, offset, value, &out, word)
            case .text(let r):
                tokens.removeAll(keepingCapacity: true)
                spec.model.tokenize(p.s.scalars, r, into: &tokens)
                for t in tokens { append(t.id, p.s.originalSpan(t.range), p.s.scalars[t.range], &out, word) }
            }
            word += 1
        }
    }

    /// One token out, its offsets trimmed as the ByteLevel and RobertaProcessing post-processors'
    /// `process_offsets` trims them: without the spaces ("Ġ" or whitespace) its text `value`
    /// starts or ends with — except that a token opening a sequence or window (HF: index 0, or
    /// offset 0) keeps a single leading one when the processor adds a prefix space.
    private func append(_ id: Int32, _ offset: TokenOffset, _ value: ArraySlice<UInt32>, _ out: inout TokenSequence, _ word: Int32) {
        var o = offset
        if spec.trimOffsets {
            func isSpace(_ v: UInt32) -> Bool { v == 0x120 || isWhitespace(v) }
            var leading = 0, trailing = 0
            for v in value { if isSpace(v) { leading += 1 } else { break } }
            for v in value.reversed() { if isSpace(v) { trailing += 1 } else { break } }
            func trim(_ leading: Int) -> TokenOffset {
                var t = offset
                if leading > 0 { t.start = min(t.start + Int32(leading), t.end) }
                if trailing > 0, t.end >= Int32(trailing) { t.end = max(t.end - Int32(trailing), t.start) }
                return t
            }
            let keepsSpace = spec.trimAddPrefixSpace && leading == 1
            o = trim(keepsSpace && (out.ids.isEmpty || offset.start == 0) ? 0 : leading)
            if keepsSpace && o != trim(0) { out.offsetsWhenFirst[out.ids.count] = trim(0) }
        }
        out.ids.append(id)
        out.offsets.append(o)
        out.wordIds.append(word)
    }
}

/// Everything a tokenizer pipeline is made of, read from `tokenizer.json` or built from slow
/// files as transformers' converters build it.
struct TokenizerPipeline: Sendable {
    var normalizers: [Normalizer] = []
    var preTokenizers: [PreTokenizer] = []
    var model: TokenModel
    var template: SpecialTokensTemplate
    /// The post-processor trims offsets (`trim_offsets` of ByteLevel / RobertaProcessing).
    var trimOffsets = false
    /// That post-processor's `add_prefix_space`.
    var trimAddPrefixSpace = false
    /// Added tokens matched in the raw text (`normalized: false`) and in the normalized text.
    var addedTokens: [AddedTokens.Token] = []
    var normalizedAddedTokens: [AddedTokens.Token] = []
    var padId: Int32
    var vocabularyPath: String
    var returnsTokenTypeIds = true

    /// An added token, matched in the raw text or (`normalized`) in the normalized text — then
    /// its content is normalized first, as tokenizers builds its normalized trie.
    mutating func add(_ token: AddedTokens.Token, normalized: Bool) {
        guard normalized else { return addedTokens.append(token) }
        var s = token.scalars.withUnsafeBufferPointer { NormalizedString($0, 0..<$0.count) }
        for n in normalizers { n.apply(to: &s) }
        var t = token
        t.scalars = s.scalars
        normalizedAddedTokens.append(t)
    }

    var vocabularySize: Int {
        max(model.vocabularySize, Int((addedTokens + normalizedAddedTokens).map(\.id).max() ?? -1) + 1)
    }
}
