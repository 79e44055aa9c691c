/// A vocabulary keyed by Unicode scalars. Not by `String`: Swift compares strings by canonical
/// equivalence (so "e\u{301}" would find "é", and "Ω" the Ohm sign), `tokenizers` byte by byte.
struct ScalarVocabulary: Sendable {
    private let single: [UInt32: Int32]
    private let multiple: [[UInt32]: Int32]
    /// The largest id + 1.
    let size: Int

    /// Entries in file order; the first of repeated tokens keeps its id.
    init(_ entries: [(String, Int32)]) {
        var single: [UInt32: Int32] = [:]
        var multiple: [[UInt32]: Int32] = [:]
        var size = 0
        for (token, id) in entries {
            let scalars = token.unicodeScalars.map(\.value)
            if scalars.count == 1 {
                if single[scalars[0]] == nil { single[scalars[0]] = id }
            } else if multiple[scalars] == nil {
                multiple[scalars] = id
            }
            size = max(size, Int(id) + 1)
        }
        self.single = single
        self.multiple = multiple
        self.size = size
    }

    var isEmpty: Bool { single.isEmpty && multiple.isEmpty }

    @inline(__always)
    func id<C: Collection>(_ scalars: C) -> Int32? where C.Element == UInt32 {
        if scalars.count == 1 { return single[scalars.first!] }
        return multiple[Array(scalars)]
    }

    subscript(token: String) -> Int32? { id(token.unicodeScalars.map(\.value)) }

    /// The ids of SentencePiece's byte tokens `<0x00>` … `<0xFF>` (nil where one is missing).
    var byteTokenIds: [Int32?] {
        let hex = Array("0123456789ABCDEF")
        return (0..<256).map { self["<0x\(hex[$0 >> 4])\(hex[$0 & 15])>"] }
    }
}

/// The model of a tokenizer pipeline: it turns one pre-tokenized piece (a range of the
/// normalized text) into tokens, each with the range of characters it covers.
enum TokenModel: Sendable {
    case wordPiece(WordPieceModel)
    case bpe(BPEModel)
    case unigram(UnigramModel)

    func tokenize(_ chars: [UInt32], _ range: Range<Int>, into out: inout [(id: Int32, range: Range<Int>)]) {
        switch self {
        case .wordPiece(let m): m.tokenize(chars, range, into: &out)
        case .bpe(let m): m.tokenize(chars, range, into: &out)
        case .unigram(let m): m.tokenize(chars, range, into: &out)
        }
    }

    var vocabularySize: Int {
        switch self {
        case .wordPiece(let m): return m.vocabulary.size
        case .bpe(let m): return m.vocabulary.size
        case .unigram(let m): return m.size
        }
    }
}

/// `models::wordpiece::WordPiece`: greedy longest-match-first, later pieces of a word with
/// `continuing_subword_prefix`; a word longer than `max_input_chars_per_word` or with a part no
/// entry covers is the unknown token.
struct WordPieceModel: Sendable {
    let vocabulary: ScalarVocabulary
    let unkId: Int32
    let prefix: [UInt32]
    let maxInputCharsPerWord: Int

    func tokenize(_ chars: [UInt32], _ range: Range<Int>, into out: inout [(id: Int32, range: Range<Int>)]) {
        guard range.count <= maxInputCharsPerWord else { out.append((unkId, range)); return }
        let first = out.count
        var start = range.lowerBound
        var key: [UInt32] = []
        while start < range.upperBound {
            var end = range.upperBound
            var found: Int32? = nil
            while end > start {
                key.removeAll(keepingCapacity: true)
                if start > range.lowerBound { key.append(contentsOf: prefix) }
                key.append(contentsOf: chars[start..<end])
                if let id = vocabulary.id(key) { found = id; break }
                end -= 1
            }
            guard let id = found else {
                out.removeSubrange(first...)
                out.append((unkId, range))
                return
            }
            out.append((id, start..<end))
            start = end
        }
    }
}

/// `models::bpe::BPE` with its options: each character (with `continuing_subword_prefix` after
/// the first, `end_of_word_suffix` on the last) a symbol, or its bytes as `<0xXX>` tokens
/// (`byte_fallback`), or the unknown token (runs fused with `fuse_unk`), then merges by rank.
/// Symbols are placed by UTF-8 length one after another as `tokenizers` places them, so a
/// dropped character shifts the offsets after it there and here alike.
struct BPEModel: Sendable {
    let vocabulary: ScalarVocabulary
    let bpe: BPE
    let unkId: Int32?
    var fuseUnk = false
    /// The `<0xXX>` ids when `byte_fallback` is on.
    var byteIds: [Int32?]? = nil
    var prefix: [UInt32] = []
    var suffix: [UInt32] = []
    var ignoreMerges = false

    func tokenize(_ chars: [UInt32], _ range: Range<Int>, into out: inout [(id: Int32, range: Range<Int>)]) {
        guard !range.isEmpty else { return }
        if ignoreMerges, let id = vocabulary.id(chars[range]) { out.append((id, range)); return }
        var symbols: [Int32] = []
        var spans: [Range<Int>] = []  // in UTF-8 bytes of the piece
        var position = 0
        func add(_ id: Int32, _ length: Int) { symbols.append(id); spans.append(position..<(position + length)); position += length }
        var unknown: (id: Int32, length: Int)? = nil
        var key: [UInt32] = []
        var charOfByte: [Int] = []
        for k in range {
            let length = utf8Length(chars[k])
            for _ in 0..<length { charOfByte.append(k) }
            key.removeAll(keepingCapacity: true)
            if k > range.lowerBound { key.append(contentsOf: prefix) }
            key.append(chars[k])
            if k == range.upperBound - 1 { key.append(contentsOf: suffix) }
            if let id = vocabulary.id(key) {
                if let u = unknown { add(u.id, u.length); unknown = nil }
                add(id, length)
                continue
            }
            if let byteIds {
                var bytes: [UInt8] = []
                for v in key { appendUTF8(v, to: &bytes) }
                let ids = bytes.compactMap { byteIds[Int($0)] }
                if ids.count == bytes.count {
                    // A pending unknown run is not closed here: tokenizers puts it after these.
                    for id in ids { add(id, 1) }
                    continue
                }
            }
            guard let unk = unkId else { continue }  // no unknown token: the character is dropped
            if let u = unknown {
                if fuseUnk { unknown = (u.id, u.length + length); continue }
                add(u.id, u.length)
            }
            unknown = (unk, length)
        }
        if let u = unknown { add(u.id, u.length) }
        bpe.merge(&symbols, &spans)
        for (id, span) in zip(symbols, spans) {
            let last = charOfByte.count - 1
            let lo = charOfByte[min(span.lowerBound, last)], hi = charOfByte[min(max(span.upperBound - 1, 0), last)]
            out.append((id, lo..<(hi + 1)))
        }
    }
}

/// `models::unigram::Unigram` with `byte_fallback`: an unknown stretch becomes the `<0xXX>`
/// tokens of its bytes when the vocabulary has them all, each covering the whole stretch.
struct UnigramModel: Sendable {
    let unigram: Unigram
    let size: Int
    var byteIds: [Int32?]? = nil

    func tokenize(_ chars: [UInt32], _ range: Range<Int>, into out: inout [(id: Int32, range: Range<Int>)]) {
        var ids: [Int32] = []
        var ranges: [Range<Int>] = []
        unigram.segment(chars, range, ids: &ids, ranges: &ranges)
        for (id, r) in zip(ids, ranges) {
            if id == unigram.unkId, let byteIds {
                var bytes: [UInt8] = []
                for k in r { appendUTF8(chars[k], to: &bytes) }
                let fallback = bytes.compactMap { byteIds[Int($0)] }
                if fallback.count == bytes.count {
                    for b in fallback { out.append((b, r)) }
                    continue
                }
            }
            out.append((id, r))
        }
    }
}

@inline(__always)
func utf8Length(_ v: UInt32) -> Int {
    v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4
}
