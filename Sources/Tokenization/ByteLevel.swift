/// GPT-2's byte-level alphabet and pre-tokenizer (`tokenizers`' `ByteLevel`): text is split by
/// GPT-2's pattern, and each piece's UTF-8 bytes become printable characters, so a BPE
/// vocabulary of 256 base symbols covers every text.
enum ByteLevel {
    /// `bytes_to_unicode()`: printable Latin-1 bytes stand for themselves, the other 68 bytes for
    /// U+0100 onwards in byte order (space → "Ġ", newline → "Ċ").
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable { table[b] = UInt32(b) } else { table[b] = next; next += 1 }
        }
        return table
    }()

    /// Character classes of GPT-2's pattern.
    enum CharacterClass { case letter, number, space, other }

    static func characterClass(_ value: UInt32) -> CharacterClass {
        if value < 0x80 {
            switch UInt8(value) {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The pieces of `text[range]` by GPT-2's pattern
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, as ranges
    /// of scalar indices, appended to `pieces`.
    static func split(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        func cls(_ k: Int) -> CharacterClass { characterClass(text[k]) }
        func run(from k: Int, _ c: CharacterClass) -> Int {
            var j = k
            while j < end, cls(j) == c { j += 1 }
            return j
        }
        while i < end {
            let c = text[i]
            // Contractions: 's 't 'm 'd, 're 've 'll (case-sensitive, as the pattern).
            if c == UInt32(UInt8(ascii: "'")), i + 1 < end {
                let n = text[i + 1]
                if [UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d")].contains(where: { UInt32($0) == n }) {
                    pieces.append(i..<(i + 2)); i += 2; continue
                }
                if i + 2 < end {
                    let pair = (n, text[i + 2])
                    let r = UInt32(UInt8(ascii: "r")), v = UInt32(UInt8(ascii: "v")), l = UInt32(UInt8(ascii: "l"))
                    let e = UInt32(UInt8(ascii: "e"))
                    if pair == (r, e) || pair == (v, e) || pair == (l, l) {
                        pieces.append(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            var start = i
            var kind = cls(i)
            // " ?X+": one ASCII space joins the run of letters, numbers or others after it.
            if c == 0x20, i + 1 < end, cls(i + 1) != .space {
                start = i
                i += 1
                kind = cls(i)
            }
            if kind != .space {
                let stop = run(from: i, kind)
                pieces.append(start..<stop)
                i = stop
                continue
            }
            // Whitespace: `\s+(?!\S)` leaves the last one for the word after it; `\s+` otherwise.
            let stop = run(from: i, .space)
            if stop < end, stop - i > 1 {
                pieces.append(i..<(stop - 1))
                i = stop - 1
            } else {
                pieces.append(i..<stop)
                i = stop
            }
        }
    }
}
