import Dispatch
import Foundation

/// What question answering needs of a tokenizer, whatever its family: text → tokens with
/// character offsets, and question/context pairs → model windows laid out by the family's
/// special-token template (`[CLS] A [SEP] B [SEP]`, `<s> A </s></s> B </s>`, ...), with
/// `only_second` truncation into overlapping windows exactly as Hugging Face returns them.
///
/// Conforming types are immutable after loading, so one instance serves many threads.
public protocol QATokenizer: Sendable {
    /// The tokens of `text` without special tokens, with offsets in Unicode scalars.
    func tokenize(_ text: String) -> TokenSequence
    /// How the family lays out one text or a pair with its special tokens.
    var template: SpecialTokensTemplate { get }
    /// The padding token's id.
    var padId: Int32 { get }
    /// The largest token id + 1: what the model's embedding table must cover.
    var vocabularySize: Int { get }
    /// The folder file the vocabulary came from (for messages).
    var vocabularyPath: String { get }
    /// Whether transformers' tokenizer class returns `token_type_ids` (its `model_input_names`):
    /// RoBERTa, XLM-R and DistilBERT do not; the windows carry them either way.
    var returnsTokenTypeIds: Bool { get }
}

/// transformers' tokenizer classes whose `model_input_names` leave out `token_type_ids`
/// (the `…Fast` classes alike).
func tokenizerClassReturnsTokenTypeIds(_ name: String) -> Bool {
    let base = name.hasSuffix("Fast") ? String(name.dropLast(4)) : name
    return !["RobertaTokenizer", "XLMRobertaTokenizer", "DistilBertTokenizer", "CamembertTokenizer", "BartTokenizer",
             "GPT2Tokenizer", "LongformerTokenizer", "MPNetTokenizer", "PhobertTokenizer", "BertweetTokenizer",
             "T5Tokenizer", "LlamaTokenizer", "GemmaTokenizer", "BloomTokenizer"].contains(base)
}

/// Where a family's special tokens go around one text (A) or a pair (A, B), and which token
/// type ids each part gets: the post-processor of `tokenizer.json` (BertProcessing,
/// RobertaProcessing, TemplateProcessing) reduced to what QA windows need.
public struct SpecialTokensTemplate: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case special(id: Int32, typeId: Int32)
        /// The first (0) or second (1) sequence, its tokens with this type id.
        case sequence(Int, typeId: Int32)
    }
    public var single: [Piece]
    public var pair: [Piece]
    /// Windows after the first keep each sequence's own type id (A 0, B 1) rather than the
    /// template's: what `tokenizers`' TemplateProcessing does to overflowing encodings. Set only
    /// where that differs from the template.
    public var overflowKeepsSequenceTypeIds = false

    public init(single: [Piece], pair: [Piece]) {
        self.single = single
        self.pair = pair
    }

    /// `pair` as TemplateProcessing lays out an overflowing window.
    var overflowPair: [Piece] {
        guard overflowKeepsSequenceTypeIds else { return pair }
        return pair.map { if case .sequence(let n, _) = $0 { return .sequence(n, typeId: Int32(n)) } else { return $0 } }
    }

    /// BERT's `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]`, B and its [SEP] of type 1.
    public static func bert(cls: Int32, sep: Int32) -> SpecialTokensTemplate {
        SpecialTokensTemplate(
            single: [.special(id: cls, typeId: 0), .sequence(0, typeId: 0), .special(id: sep, typeId: 0)],
            pair: [.special(id: cls, typeId: 0), .sequence(0, typeId: 0), .special(id: sep, typeId: 0),
                   .sequence(1, typeId: 1), .special(id: sep, typeId: 1)])
    }

    /// RoBERTa's `<s> A </s>` / `<s> A </s></s> B </s>`, every type id 0.
    public static func roberta(cls: Int32, sep: Int32) -> SpecialTokensTemplate {
        SpecialTokensTemplate(
            single: [.special(id: cls, typeId: 0), .sequence(0, typeId: 0), .special(id: sep, typeId: 0)],
            pair: [.special(id: cls, typeId: 0), .sequence(0, typeId: 0), .special(id: sep, typeId: 0),
                   .special(id: sep, typeId: 0), .sequence(1, typeId: 0), .special(id: sep, typeId: 0)])
    }

    /// Special tokens added around a pair (`num_special_tokens_to_add(pair=True)`).
    public var pairSpecialCount: Int { pair.filter { if case .special = $0 { return true } else { return false } }.count }

    /// The first special token: where QA models put "no answer" (HF's `cls_index`).
    public var clsId: Int32? {
        for piece in pair { if case .special(let id, _) = piece { return id } }
        return nil
    }

    /// `pieces` filled with the sequences' tokens (`ranges` picks each one's slice).
    func encoding(_ pieces: [Piece], _ sequences: [TokenSequence], _ ranges: [Range<Int>], sampleIndex: Int) -> Encoding {
        var e = Encoding()
        let length = ranges.reduce(0) { $0 + $1.count } + pieces.count
        e.inputIds.reserveCapacity(length)
        e.tokenTypeIds.reserveCapacity(length)
        e.attentionMask.reserveCapacity(length)
        e.offsets.reserveCapacity(length)
        e.sequenceIds.reserveCapacity(length)
        e.wordIds.reserveCapacity(length)
        e.sampleIndex = sampleIndex
        for piece in pieces {
            switch piece {
            case .special(let id, let type):
                e.append(id, type: type, offset: .zero, sequence: -1)
            case .sequence(let n, let type):
                let s = sequences[n]
                for k in ranges[n] {
                    let offset = k == ranges[n].lowerBound ? s.offsetsWhenFirst[k] ?? s.offsets[k] : s.offsets[k]
                    e.append(s.ids[k], type: type, offset: offset, sequence: Int8(n), word: s.wordIds[k])
                }
            }
        }
        return e
    }
}

extension QATokenizer {
    /// The first special token's id (`[CLS]`, `<s>`): the "no answer" position.
    public var clsId: Int32 { template.clsId ?? 0 }

    /// The family's template around `text` (or just its tokens), untruncated.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> Encoding {
        let tokens = tokenize(text)
        let pieces = addSpecialTokens ? template.single : [.sequence(0, typeId: 0)]
        return template.encoding(pieces, [tokens], [0..<tokens.count], sampleIndex: 0)
    }

    /// Question/context windows: the context is cut into overlapping windows (`only_second`
    /// truncation with overflow), exactly as HF returns them with `return_overflowing_tokens=True`.
    public func encodePair(question: String, context: String, options: WindowOptions,
                           sampleIndex: Int = 0) throws -> [Encoding] {
        try encodePair(question: tokenize(question), context: tokenize(context), contextIsEmpty: context.isEmpty,
                       options: options, sampleIndex: sampleIndex)
    }

    /// Windows of an already tokenized pair (see `encodePair`); `contextIsEmpty` tells whether
    /// the context string was empty (HF then encodes the question alone).
    public func encodePair(question: TokenSequence, context: TokenSequence, contextIsEmpty: Bool = false,
                           options: WindowOptions, sampleIndex: Int = 0) throws -> [Encoding] {
        try validate(options)
        var windows = try windows(question: question, context: context, options: options,
                                  sampleIndex: sampleIndex, single: contextIsEmpty)
        pad(&windows, options)
        return windows
    }

    /// What the model gets for type ids: the template's, or all 0 where transformers' tokenizer
    /// class returns none (RoBERTa, XLM-R, DistilBERT: the model then takes its default, 0) —
    /// a `TemplateProcessing` that numbers the second sequence 1 must not reach a model with
    /// one token type.
    func modelTypeIds(_ windows: inout [Encoding]) {
        guard !returnsTokenTypeIds else { return }
        for k in windows.indices { windows[k].tokenTypeIds = [Int32](repeating: 0, count: windows[k].tokenTypeIds.count) }
    }

    /// Windows of many pairs, tokenized on all cores; in input order, each window carrying its
    /// pair's index in `sampleIndex`. Throws the error of the first pair that fails.
    public func encodePairs(_ pairs: [(question: String, context: String)], options: WindowOptions) throws -> [Encoding] {
        try validate(options)
        let perPair: [Result<[Encoding], Error>] = parallelMap(count: pairs.count) { i in
            Result {
                try self.windows(question: self.tokenize(pairs[i].question), context: self.tokenize(pairs[i].context),
                                 options: options, sampleIndex: i, single: pairs[i].context.isEmpty)
            }
        }
        var windows: [Encoding] = []
        windows.reserveCapacity(pairs.count)
        for result in perPair { windows.append(contentsOf: try result.get()) }
        pad(&windows, options)
        return windows
    }

    /// Tokens of many texts on all cores.
    public func tokenizeBatch(_ texts: [String]) -> [TokenSequence] {
        parallelMap(count: texts.count) { self.tokenize(texts[$0]) }
    }

    private func validate(_ options: WindowOptions) throws {
        let singleSpecials = template.single.count - 1
        if options.maxLength < template.pairSpecialCount + 1 {
            throw TokenizerError.invalidOption(
                "max_length must be at least \(template.pairSpecialCount + 1) (\(template.pairSpecialCount) special tokens + 1), got \(options.maxLength)")
        }
        if options.stride < 0 {
            throw TokenizerError.invalidOption("stride must not be negative, got \(options.stride)")
        }
        // transformers rejects this up front (against max_length minus one text's special
        // tokens), whatever the texts.
        if options.stride > options.maxLength - singleSpecials {
            throw TokenizerError.invalidOption(
                "stride \(options.stride) must be at most max_length − \(singleSpecials) = \(options.maxLength - singleSpecials)")
        }
    }

    private func pad(_ windows: inout [Encoding], _ options: WindowOptions) {
        let target: Int
        switch options.padding {
        case .none: return
        case .maxLength: target = options.maxLength
        case .longest: target = windows.map(\.count).max() ?? 0
        }
        for k in windows.indices { windows[k].pad(to: target, padId: padId) }
    }

    /// The windowing rule of `tokenizers`' `truncate_encodings` + `Encoding::truncate`:
    /// room = max_length − (the pair's special tokens) − |question|; when the context does not
    /// fit, windows of `room` tokens start every `room − stride` tokens until one reaches the end.
    ///
    /// `single`: `transformers` treats an empty context string as "no pair" (it is falsy in
    /// Python) and encodes the question alone; we do the same.
    func windows(question q: TokenSequence, context c: TokenSequence, options: WindowOptions,
                 sampleIndex: Int, single: Bool = false) throws -> [Encoding] {
        var windows = try templateWindows(question: q, context: c, options: options, sampleIndex: sampleIndex,
                                          single: single)
        modelTypeIds(&windows)
        return windows
    }

    private func templateWindows(question q: TokenSequence, context c: TokenSequence, options: WindowOptions,
                                 sampleIndex: Int, single: Bool) throws -> [Encoding] {
        if single {
            let e = template.encoding(template.single, [q], [0..<q.count], sampleIndex: sampleIndex)
            // With no context there is nothing to window: HF fails `only_second` truncation here
            // ("second sequence not provided"); we name the real problem instead.
            if e.count > options.maxLength {
                throw TokenizerError.questionTooLong(questionTokens: q.count, maxLength: options.maxLength)
            }
            return [e]
        }
        let specials = template.pairSpecialCount
        var ranges: [Range<Int>] = []
        if q.count + c.count + specials <= options.maxLength {
            ranges = [0..<c.count]
        } else {
            let room = options.maxLength - specials - q.count
            if room <= 0 {
                throw TokenizerError.questionTooLong(questionTokens: q.count, maxLength: options.maxLength)
            }
            if options.stride >= room {
                throw TokenizerError.strideTooLarge(stride: options.stride, contextRoom: room)
            }
            let step = room - options.stride
            var start = 0
            while true {
                let stop = min(start + room, c.count)
                ranges.append(start..<stop)
                if stop == c.count { break }
                start += step
            }
        }
        let overflow = template.overflowPair
        return ranges.enumerated().map { k, range in
            template.encoding(k == 0 ? template.pair : overflow, [q, c], [0..<q.count, range], sampleIndex: sampleIndex)
        }
    }
}

/// Maps `0..<count` on all cores, keeping order. Work is split into contiguous chunks.
func parallelMap<T>(count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    if count == 0 { return [] }
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, count)
    if workers <= 1 || count < 8 { return (0..<count).map(body) }
    var results = [T?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { out in
        let base = out.baseAddress!
        nonisolated(unsafe) let shared = base
        let chunks = workers * 8
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lo = chunk * count / chunks
            let hi = (chunk + 1) * count / chunks
            for i in lo..<hi { (shared + i).pointee = body(i) }
        }
    }
    return results.map { $0! }
}
