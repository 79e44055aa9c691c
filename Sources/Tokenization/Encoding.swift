/// A token's span in the original text, in Unicode scalars (Python's `str` indices).
/// Special and padding tokens have `[0, 0]`.
public struct TokenOffset: Hashable, Sendable, CustomStringConvertible {
    public var start: Int32
    public var end: Int32

    public init(start: Int32, end: Int32) {
        self.start = start
        self.end = end
    }

    public init(_ start: Int, _ end: Int) {
        self.start = Int32(start)
        self.end = Int32(end)
    }

    public static let zero = TokenOffset(start: 0, end: 0)
    public var description: String { "[\(start), \(end)]" }
}

/// Tokens of one text, without special tokens.
public struct TokenSequence: Sendable, Equatable {
    public var ids: [Int32] = []
    public var offsets: [TokenOffset] = []
    /// The pre-tokenized word each token belongs to (HF `word_ids`), from 0.
    public var wordIds: [Int32] = []
    /// Offsets a token has instead when it opens a sequence or a window: a post-processor that
    /// trims offsets with `add_prefix_space` leaves the one leading space of a first token in
    /// (HF trims each window on its own). Empty for every QA family's usual settings.
    public var offsetsWhenFirst: [Int: TokenOffset] = [:]
    public init() {}
    public var count: Int { ids.count }
}

/// One model input: a single sequence or one window of a question/context pair,
/// laid out as `[CLS] A [SEP] (B [SEP])` and optionally padded.
public struct Encoding: Sendable, Equatable {
    public var inputIds: [Int32] = []
    public var tokenTypeIds: [Int32] = []
    public var attentionMask: [Int32] = []
    public var offsets: [TokenOffset] = []
    /// 0 for the first text (question), 1 for the second (context), -1 for special/padding
    /// tokens (HF's `None`). Use `sequenceId(at:)` for the optional form.
    public var sequenceIds: [Int8] = []
    /// The word of its sequence each token belongs to (HF `word_ids`); -1 for special/padding.
    public var wordIds: [Int32] = []
    /// Which input (question/context pair) this window belongs to: HF's
    /// `overflow_to_sample_mapping`.
    public var sampleIndex: Int = 0

    public init() {}

    public var count: Int { inputIds.count }
    /// Number of non-padding tokens.
    public var length: Int { attentionMask.reduce(0) { $0 + Int($1) } }

    public func sequenceId(at i: Int) -> Int? {
        let s = sequenceIds[i]
        return s < 0 ? nil : Int(s)
    }

    /// The character span of word `word` of sequence `sequence` within this encoding, as
    /// HF `Encoding.word_to_chars` gives it (first token's start, last token's end).
    public func wordToChars(_ word: Int32, sequence: Int8) -> TokenOffset? {
        var span: TokenOffset? = nil
        for k in 0..<wordIds.count where wordIds[k] == word && sequenceIds[k] == sequence {
            if span == nil { span = TokenOffset(start: offsets[k].start, end: offsets[k].end) }
            span!.end = offsets[k].end
        }
        return span
    }

    mutating func append(_ id: Int32, type: Int32, offset: TokenOffset, sequence: Int8, word: Int32 = -1) {
        wordIds.append(word)
        inputIds.append(id)
        tokenTypeIds.append(type)
        attentionMask.append(1)
        offsets.append(offset)
        sequenceIds.append(sequence)
    }

    /// Pads on the right to `length` with the pad id (type 0, mask 0, offset [0,0]).
    public mutating func pad(to length: Int, padId: Int32) {
        let extra = length - inputIds.count
        guard extra > 0 else { return }
        inputIds.append(contentsOf: repeatElement(padId, count: extra))
        tokenTypeIds.append(contentsOf: repeatElement(0, count: extra))
        attentionMask.append(contentsOf: repeatElement(0, count: extra))
        offsets.append(contentsOf: repeatElement(.zero, count: extra))
        sequenceIds.append(contentsOf: repeatElement(-1, count: extra))
        wordIds.append(contentsOf: repeatElement(-1, count: extra))
    }
}

/// How pair encodings are padded.
public enum Padding: Sendable, Equatable {
    /// No padding: each window has its own length.
    case none
    /// Pad every window to `max_length` (HF `padding="max_length"`).
    case maxLength
    /// Pad every window of a batch to the longest one (HF `padding="longest"`).
    case longest
}

/// Truncation of the second sequence (`only_second`) into overlapping windows.
public struct WindowOptions: Sendable, Equatable {
    /// Tokens per window, special tokens included.
    public var maxLength: Int
    /// Tokens shared by consecutive context windows.
    public var stride: Int
    public var padding: Padding

    public init(maxLength: Int = 384, stride: Int = 128, padding: Padding = .none) {
        self.maxLength = maxLength
        self.stride = stride
        self.padding = padding
    }
}
