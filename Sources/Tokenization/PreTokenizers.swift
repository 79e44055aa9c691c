/// A stretch of normalized text cut into the pieces the model sees (`tokenizers`'
/// `PreTokenizedString`), kept as ranges of one `NormalizedString` rather than one string per
/// piece. Added tokens found in the normalized text sit among the pieces, already tokens.
struct PreTokenized {
    enum Piece {
        case text(Range<Int>)
        /// An added token: its id, offsets, and the normalized text it matched.
        case token(Int32, TokenOffset, ArraySlice<UInt32>)
    }
    var s: NormalizedString
    var pieces: [Piece]
}

/// `SplitDelimiterBehavior`: what becomes of a match when a piece is split at it.
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// One pre-tokenizer of `tokenizer.json` (a `Sequence` is flattened when read).
enum PreTokenizer: Sendable {
    /// `BertPreTokenizer`: split on whitespace (removed), then on punctuation (isolated).
    case bert
    /// `Whitespace`: `\w+|[^\w\s]+`, the rest removed.
    case whitespace
    /// `WhitespaceSplit`: split on whitespace, removed.
    case whitespaceSplit
    case punctuation(SplitBehavior)
    /// `Digits`: numbers apart, each digit alone when `individual`.
    case digits(individual: Bool)
    case split(TextPattern, SplitBehavior, invert: Bool)
    /// `ByteLevel`: a space before each piece (`add_prefix_space`), GPT-2's pattern
    /// (`use_regex`), then each character's UTF-8 bytes as GPT-2's printable characters.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// `Metaspace`: spaces become `replacement`, one is put before a piece (`prepend`), pieces
    /// split before each `replacement` (`split`).
    case metaspace(replacement: UInt32, prepend: PrependScheme, split: Bool)

    func apply(to p: inout PreTokenized) {
        switch self {
        case .bert:
            p.split(.removed) { charClasses($0) & CharClass.whitespace != 0 }
            p.split(.isolated) { charClasses($0) & CharClass.punctuation != 0 }
        case .whitespace:
            // A run of word characters or a run of other non-space characters is a piece.
            p.split(.removed, invert: true) { s, range in
                var found: [Range<Int>] = []
                var i = range.lowerBound
                while i < range.upperBound {
                    let kind = whitespaceClass(s[i])
                    guard kind != 0 else { i += 1; continue }
                    var j = i + 1
                    while j < range.upperBound, whitespaceClass(s[j]) == kind { j += 1 }
                    found.append(i..<j)
                    i = j
                }
                return found
            }
        case .whitespaceSplit:
            p.split(.removed) { isWhitespace($0) }
        case .punctuation(let behavior):
            p.split(behavior) { charClasses($0) & CharClass.punctuation != 0 }
        case .digits(let individual):
            p.split(individual ? .isolated : .contiguous) { isNumeric($0) }
        case .split(let pattern, let behavior, let invert):
            p.split(behavior, invert: invert) { pattern.matches(in: $0, $1) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            if addPrefixSpace { p.prepend(0x20, where: { s, range in s.scalars[range.lowerBound] != 0x20 }) }
            if useRegex {
                p.split(.isolated) { s, range in
                    var found: [Range<Int>] = []
                    s.withUnsafeBufferPointer { ByteLevel.split($0, range, into: &found) }
                    return found
                }
            }
            p.toBytes()
        case .metaspace(let replacement, let scheme, let split):
            for case .text(let range) in p.pieces {
                for k in range where p.s.scalars[k] == 0x20 { p.s.scalars[k] = replacement }
            }
            if scheme != .never {
                p.prepend(replacement) { s, range in
                    s.scalars[range.lowerBound] != replacement && (scheme == .always || s.spans[range.lowerBound].start == 0)
                }
            }
            if split { p.split(.mergedWithNext) { $0 == replacement } }
        }
    }
}

/// `Metaspace`'s `prepend_scheme`.
enum PrependScheme: String, Sendable { case always, first, never }

/// Rust's `char::is_whitespace`: the Unicode White_Space property.
@inline(__always)
func isWhitespace(_ v: UInt32) -> Bool {
    if v < 0x80 { return v == 0x20 || (0x09...0x0D).contains(v) }
    return Unicode.Scalar(v)?.properties.isWhitespace ?? false
}

/// Rust's `char::is_numeric`: general category Nd, Nl or No.
private func isNumeric(_ v: UInt32) -> Bool {
    if v < 0x80 { return (0x30...0x39).contains(v) }
    switch Unicode.Scalar(v)?.properties.generalCategory {
    case .decimalNumber?, .letterNumber?, .otherNumber?: return true
    default: return false
    }
}

/// Unicode `\w` (Rust's regex): Alphabetic, marks, decimal digits, connector punctuation,
/// join controls.
func isWordCharacter(_ v: UInt32) -> Bool {
    if v < 0x80 {
        return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
    }
    if v == 0x200C || v == 0x200D { return true }
    guard let p = Unicode.Scalar(v)?.properties else { return false }
    if p.isAlphabetic { return true }
    switch p.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
}

/// `Whitespace`'s classes: 1 a word character, 2 another non-space character, 0 a space.
private func whitespaceClass(_ v: UInt32) -> Int {
    if isWordCharacter(v) { return 1 }
    return isWhitespace(v) ? 0 : 2
}

extension PreTokenized {
    /// Each text piece split at the matches `find` reports in it (`tokenizers`'
    /// `NormalizedString::split`): the piece is cut into matches and the stretches between
    /// them, then `behavior` decides what a match becomes; empty pieces go.
    mutating func split(_ behavior: SplitBehavior, invert: Bool = false,
                        find: ([UInt32], Range<Int>) -> [Range<Int>]) {
        var out: [Piece] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces {
            guard case .text(let range) = piece else { out.append(piece); continue }
            // The piece as (range, isMatch) stretches covering it.
            var stretches: [(Range<Int>, Bool)] = []
            var at = range.lowerBound
            for m in find(s.scalars, range) {
                if at < m.lowerBound { stretches.append((at..<m.lowerBound, invert)) }
                stretches.append((m, !invert))
                at = m.upperBound
            }
            if at < range.upperBound { stretches.append((at..<range.upperBound, invert)) }
            var kept: [Range<Int>] = []
            switch behavior {
            case .removed:
                kept = stretches.filter { !$0.1 }.map(\.0)
            case .isolated:
                kept = stretches.map(\.0)
            case .contiguous:
                var previous: Bool? = nil
                for (r, isMatch) in stretches {
                    if isMatch == previous, let last = kept.last { kept[kept.count - 1] = last.lowerBound..<r.upperBound }
                    else { kept.append(r) }
                    previous = isMatch
                }
            case .mergedWithPrevious:
                var previous = false
                for (r, isMatch) in stretches {
                    if isMatch && !previous, let last = kept.last { kept[kept.count - 1] = last.lowerBound..<r.upperBound }
                    else { kept.append(r) }
                    previous = isMatch
                }
            case .mergedWithNext:
                var previous = false
                for (r, isMatch) in stretches.reversed() {
                    if isMatch && !previous, let last = kept.last { kept[kept.count - 1] = r.lowerBound..<last.upperBound }
                    else { kept.append(r) }
                    previous = isMatch
                }
                kept.reverse()
            }
            for r in kept where !r.isEmpty { out.append(.text(r)) }
        }
        pieces = out
    }

    /// Split where single characters satisfy `isMatch`, each such character one match.
    mutating func split(_ behavior: SplitBehavior, where isMatch: (UInt32) -> Bool) {
        split(behavior) { chars, range in
            var found: [Range<Int>] = []
            for k in range where isMatch(chars[k]) { found.append(k..<(k + 1)) }
            return found
        }
    }

    /// `c` put before each text piece for which `when` holds, sharing its first character's span
    /// (`NormalizedString::prepend`). The text is rebuilt from the pieces.
    mutating func prepend(_ c: UInt32, where when: (NormalizedString, Range<Int>) -> Bool) {
        rebuild { s, range, scalars, spans in
            if when(s, range) { scalars.append(c); spans.append(s.spans[range.lowerBound]) }
            scalars.append(contentsOf: s.scalars[range])
            spans.append(contentsOf: s.spans[range])
        }
    }

    /// ByteLevel's alphabet: each character becomes the printable stand-ins of its UTF-8 bytes,
    /// all with its span.
    mutating func toBytes() {
        rebuild { s, range, scalars, spans in
            for k in range {
                let v = s.scalars[k]
                guard v >= 0x80 else {
                    scalars.append(ByteLevel.byteToScalar[Int(v)]); spans.append(s.spans[k]); continue
                }
                var bytes: [UInt8] = []
                appendUTF8(v, to: &bytes)
                for b in bytes { scalars.append(ByteLevel.byteToScalar[Int(b)]); spans.append(s.spans[k]) }
            }
        }
    }

    /// A new normalized text made of each text piece as `emit` writes it, the pieces pointing
    /// into it (what lies between pieces is no longer needed).
    private mutating func rebuild(_ emit: (NormalizedString, Range<Int>, inout [UInt32], inout [(start: Int32, end: Int32)]) -> Void) {
        var scalars: [UInt32] = []
        var spans: [(start: Int32, end: Int32)] = []
        scalars.reserveCapacity(s.scalars.count + pieces.count)
        spans.reserveCapacity(s.scalars.count + pieces.count)
        var out: [Piece] = []
        out.reserveCapacity(pieces.count)
        for piece in pieces {
            guard case .text(let range) = piece else { out.append(piece); continue }
            let start = scalars.count
            emit(s, range, &scalars, &spans)
            out.append(.text(start..<scalars.count))
        }
        s.scalars = scalars
        s.spans = spans
        pieces = out
    }
}
