/// Pre-tokenization (split on whitespace, isolate punctuation) and greedy longest-match-first
/// WordPiece, as Hugging Face's `BertPreTokenizer` + `WordPiece` model do them.
struct WordPiece: Sendable {
    let vocabulary: Vocabulary
    let unkId: Int32
    /// A word longer than this (in characters, after normalization) becomes [UNK].
    let maxInputCharsPerWord: Int

    /// Appends the tokens of the normalized text to `out`; offsets are original scalar indices
    /// (`origins` already hold text indices), word ids (HF `word_ids`) counted from `nextWord`.
    func tokenize(_ text: NormalizedText, into out: inout TokenSequence, nextWord: inout Int32,
                  scratch: inout [UInt8], scalarEnds: inout [Int]) {
        let n = text.scalars.count
        text.scalars.withUnsafeBufferPointer { scalars in
            var i = 0
            while i < n {
                let v = scalars[i]
                let flags: UInt8 = v < 0x80 ? asciiClasses[Int(v)] : charClasses(v)
                if flags & CharClass.whitespace != 0 { i += 1; continue }
                if flags & CharClass.punctuation != 0 {
                    wordPiece(scalars, i, i + 1, text.origins, &out.ids, &out.offsets, &scratch, &scalarEnds)
                    out.wordIds.append(contentsOf: repeatElement(nextWord, count: out.ids.count - out.wordIds.count))
                    nextWord += 1
                    i += 1
                    continue
                }
                var j = i + 1
                while j < n {
                    let w = scalars[j]
                    let f: UInt8 = w < 0x80 ? asciiClasses[Int(w)] : charClasses(w)
                    if f & (CharClass.whitespace | CharClass.punctuation) != 0 { break }
                    j += 1
                }
                wordPiece(scalars, i, j, text.origins, &out.ids, &out.offsets, &scratch, &scalarEnds)
                out.wordIds.append(contentsOf: repeatElement(nextWord, count: out.ids.count - out.wordIds.count))
                nextWord += 1
                i = j
            }
        }
    }

    /// WordPiece of one word `scalars[lo..<hi]`.
    @inline(__always)
    private func wordPiece(_ scalars: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int,
                           _ origins: [Int32], _ ids: inout [Int32], _ offsets: inout [TokenOffset],
                           _ utf8: inout [UInt8], _ ends: inout [Int]) {
        let wordOffset = TokenOffset(start: origins[lo], end: origins[hi - 1] + 1)
        if hi - lo > maxInputCharsPerWord {
            ids.append(unkId)
            offsets.append(wordOffset)
            return
        }
        // UTF-8 of the word, and the byte end of each scalar, so pieces end on scalar boundaries.
        utf8.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        for k in lo..<hi {
            appendUTF8(scalars[k], to: &utf8)
            ends.append(utf8.count)
        }
        let firstToken = ids.count
        let matched: Bool = utf8.withUnsafeBufferPointer { bytes in
            var start = 0 // scalar index within the word
            let count = hi - lo
            while start < count {
                let startByte = start == 0 ? 0 : ends[start - 1]
                var end = count
                var found: Int? = nil
                while end > start {
                    let piece = UnsafeBufferPointer(rebasing: bytes[startByte ..< ends[end - 1]])
                    if let id = vocabulary.id(of: piece, continuation: start > 0) { found = id; break }
                    end -= 1
                }
                guard let id = found else { return false }
                ids.append(Int32(id))
                offsets.append(TokenOffset(start: origins[lo + start], end: origins[lo + end - 1] + 1))
                start = end
            }
            return true
        }
        if !matched {
            ids.removeSubrange(firstToken...)
            offsets.removeSubrange(firstToken...)
            ids.append(unkId)
            offsets.append(wordOffset)
        }
    }
}

/// Classes of the 128 ASCII scalars, for the pre-tokenizer's hot loop.
let asciiClasses: [UInt8] = (0..<128).map { computeClasses(UInt32($0)) }

@inline(__always)
func appendUTF8(_ v: UInt32, to bytes: inout [UInt8]) {
    switch v {
    case 0..<0x80:
        bytes.append(UInt8(v))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | (v >> 6)))
        bytes.append(UInt8(0x80 | (v & 0x3F)))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | (v >> 12)))
        bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (v & 0x3F)))
    default:
        bytes.append(UInt8(0xF0 | (v >> 18)))
        bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (v & 0x3F)))
    }
}
