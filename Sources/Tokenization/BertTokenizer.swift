import Dispatch
import Foundation

/// BERT's tokenizer with Hugging Face `BertTokenizerFast` semantics: added/special tokens
/// matched in the raw text, `BertNormalizer`, `BertPreTokenizer`, WordPiece, and the
/// `[CLS] A [SEP] B [SEP]` template with `only_second` overflow windows.
///
/// Immutable after loading, so one instance serves many threads.
public final class BertTokenizer: Sendable {
    public let files: TokenizerFiles
    public var vocabulary: Vocabulary { files.vocabulary }
    public let clsId: Int32
    public let sepId: Int32
    public let padId: Int32
    public let unkId: Int32
    private let wordPiece: WordPiece
    /// Added tokens as scalar arrays, longest first (leftmost-longest matching).
    private let addedTokens: [(scalars: [UInt32], id: Int32)]
    private let addedFirstScalars: Set<UInt32>

    /// Loads `vocab.txt` / `tokenizer.json` / `tokenizer_config.json` from a model folder.
    public convenience init(directory: URL) throws {
        try self.init(files: TokenizerFiles.load(directory: directory))
    }

    public init(files: TokenizerFiles) throws {
        self.files = files
        func id(_ token: String) throws -> Int32 {
            guard let id = files.vocabulary.id(of: token) else {
                throw TokenizerError.missingSpecialToken(token: token, path: files.vocabularyPath)
            }
            return Int32(id)
        }
        clsId = try id(files.clsToken)
        sepId = try id(files.sepToken)
        padId = try id(files.padToken)
        unkId = try id(files.unkToken)
        wordPiece = WordPiece(vocabulary: files.vocabulary, unkId: unkId,
                              maxInputCharsPerWord: files.maxInputCharsPerWord)
        var added: [(scalars: [UInt32], id: Int32)] = []
        for token in files.addedTokens {
            guard let tokenId = files.vocabulary.id(of: token) else { continue }
            added.append((token.unicodeScalars.map(\.value), Int32(tokenId)))
        }
        added.sort { $0.scalars.count > $1.scalars.count }
        addedTokens = added
        addedFirstScalars = Set(added.compactMap { $0.scalars.first })
    }

    // MARK: - Text → tokens

    /// The WordPiece tokens of `text`, without special tokens, with character offsets.
    public func tokenize(_ text: String) -> TokenSequence {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars { scalars.append(s.value) }
        // Separate arrays, not `result.ids`/`result.offsets`: two inout accesses to one captured
        // struct would overlap under Swift's exclusivity rules.
        var ids: [Int32] = []
        var offsets: [TokenOffset] = []
        var words: [Int32] = []
        var nextWord: Int32 = 0
        ids.reserveCapacity(scalars.count / 3 + 4)
        offsets.reserveCapacity(scalars.count / 3 + 4)
        var normalized = NormalizedText()
        var utf8: [UInt8] = []
        var ends: [Int] = []
        scalars.withUnsafeBufferPointer { text in
            var segmentStart = 0
            var i = 0
            func flush(_ end: Int) {
                guard end > segmentStart else { return }
                normalized.removeAll()
                files.normalizer.normalize(text, segmentStart..<end, into: &normalized)
                wordPiece.tokenize(normalized, ids: &ids, offsets: &offsets, words: &words, nextWord: &nextWord,
                                   scratch: &utf8, scalarEnds: &ends)
            }
            while i < text.count {
                if addedFirstScalars.contains(text[i]), let (length, id) = matchAddedToken(text, at: i) {
                    flush(i)
                    ids.append(id)
                    offsets.append(TokenOffset(i, i + length))
                    words.append(nextWord)
                    nextWord += 1
                    i += length
                    segmentStart = i
                } else {
                    i += 1
                }
            }
            flush(text.count)
        }
        var result = TokenSequence()
        result.ids = ids
        result.offsets = offsets
        result.wordIds = words
        return result
    }

    private func matchAddedToken(_ text: UnsafeBufferPointer<UInt32>, at i: Int) -> (Int, Int32)? {
        for token in addedTokens where i + token.scalars.count <= text.count {
            var k = 0
            while k < token.scalars.count, text[i + k] == token.scalars[k] { k += 1 }
            if k == token.scalars.count { return (k, token.id) }
        }
        return nil
    }

    /// `[CLS] text [SEP]` (or just the tokens when `addSpecialTokens` is false), untruncated.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> Encoding {
        let tokens = tokenize(text)
        var encoding = Encoding()
        if addSpecialTokens { encoding.append(clsId, type: 0, offset: .zero, sequence: -1) }
        for k in 0..<tokens.count {
            encoding.append(tokens.ids[k], type: 0, offset: tokens.offsets[k], sequence: 0, word: tokens.wordIds[k])
        }
        if addSpecialTokens { encoding.append(sepId, type: 0, offset: .zero, sequence: -1) }
        return encoding
    }

    // MARK: - Question/context pairs → windows

    /// `[CLS] question [SEP] context [SEP]` windows: the context is cut into overlapping
    /// windows (`only_second` truncation with overflow), exactly as HF returns them with
    /// `return_overflowing_tokens=True`.
    public func encodePair(question: String, context: String, options: WindowOptions,
                           sampleIndex: Int = 0) throws -> [Encoding] {
        try validate(options)
        var windows = try Self.windows(question: tokenize(question), context: tokenize(context),
                                       options: options, sampleIndex: sampleIndex,
                                       clsId: clsId, sepId: sepId, single: context.isEmpty)
        pad(&windows, options)
        return windows
    }

    /// Windows of an already tokenized pair (see `encodePair`); `contextIsEmpty` tells whether
    /// the context string was empty (HF then encodes the question alone).
    public func encodePair(question: TokenSequence, context: TokenSequence, contextIsEmpty: Bool = false,
                           options: WindowOptions, sampleIndex: Int = 0) throws -> [Encoding] {
        try validate(options)
        var windows = try Self.windows(question: question, context: context, options: options,
                                       sampleIndex: sampleIndex, clsId: clsId, sepId: sepId,
                                       single: contextIsEmpty)
        pad(&windows, options)
        return windows
    }

    /// Windows of many pairs, tokenized on all cores; in input order, each window carrying its
    /// pair's index in `sampleIndex`. Throws the error of the first pair that fails.
    public func encodePairs(_ pairs: [(question: String, context: String)],
                            options: WindowOptions) throws -> [Encoding] {
        try validate(options)
        let perPair: [Result<[Encoding], Error>] = parallelMap(count: pairs.count) { i in
            Result {
                try Self.windows(question: self.tokenize(pairs[i].question),
                                 context: self.tokenize(pairs[i].context),
                                 options: options, sampleIndex: i,
                                 clsId: self.clsId, sepId: self.sepId, single: pairs[i].context.isEmpty)
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
        if options.maxLength < 4 {
            throw TokenizerError.invalidOption("max_length must be at least 4 (3 special tokens + 1), got \(options.maxLength)")
        }
        if options.stride < 0 {
            throw TokenizerError.invalidOption("stride must not be negative, got \(options.stride)")
        }
        // `tokenizers` rejects this up front (against max_length − 2), whatever the texts.
        if options.stride > options.maxLength - 2 {
            throw TokenizerError.invalidOption("stride \(options.stride) must be at most max_length − 2 = \(options.maxLength - 2)")
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
    /// room = max_length − 3 − |question|; when the context does not fit, windows of `room`
    /// tokens start every `room − stride` tokens until one reaches the end.
    ///
    /// `single`: `transformers` treats an empty context string as "no pair" (it is falsy in
    /// Python) and returns `[CLS] question [SEP]` alone; we do the same.
    static func windows(question q: TokenSequence, context c: TokenSequence, options: WindowOptions,
                        sampleIndex: Int, clsId: Int32, sepId: Int32, single: Bool = false) throws -> [Encoding] {
        if single {
            var e = Encoding()
            e.sampleIndex = sampleIndex
            e.append(clsId, type: 0, offset: .zero, sequence: -1)
            for k in 0..<q.count { e.append(q.ids[k], type: 0, offset: q.offsets[k], sequence: 0, word: q.wordIds[k]) }
            e.append(sepId, type: 0, offset: .zero, sequence: -1)
            // With no context there is nothing to window: HF fails `only_second` truncation here
            // ("second sequence not provided"); we name the real problem instead.
            if e.count > options.maxLength {
                throw TokenizerError.questionTooLong(questionTokens: q.count, maxLength: options.maxLength)
            }
            return [e]
        }
        let total = q.count + c.count + 3
        var ranges: [Range<Int>] = []
        if total <= options.maxLength {
            ranges = [0..<c.count]
        } else {
            let room = options.maxLength - 3 - q.count
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
        return ranges.map { range in
            var e = Encoding()
            let length = q.count + range.count + 3
            e.inputIds.reserveCapacity(length)
            e.tokenTypeIds.reserveCapacity(length)
            e.attentionMask.reserveCapacity(length)
            e.offsets.reserveCapacity(length)
            e.sequenceIds.reserveCapacity(length)
            e.sampleIndex = sampleIndex
            e.append(clsId, type: 0, offset: .zero, sequence: -1)
            for k in 0..<q.count { e.append(q.ids[k], type: 0, offset: q.offsets[k], sequence: 0, word: q.wordIds[k]) }
            e.append(sepId, type: 0, offset: .zero, sequence: -1)
            for k in range { e.append(c.ids[k], type: 1, offset: c.offsets[k], sequence: 1, word: c.wordIds[k]) }
            e.append(sepId, type: 1, offset: .zero, sequence: -1)
            return e
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
