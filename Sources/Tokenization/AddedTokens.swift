/// Tokens matched verbatim in the raw text before anything else (`tokenizers`'
/// `AddedVocabulary` for tokens with `normalized: false`, which is how the QA families store
/// their special tokens), or in the normalized text for `normalized: true` ones:
/// leftmost-longest, with `lstrip` / `rstrip` taking the whitespace beside a match into it, and
/// a `single_word` token matching only between non-word characters.
struct AddedTokens: Sendable {
    struct Token: Sendable {
        var scalars: [UInt32]
        var id: Int32
        var lstrip = false
        var rstrip = false
        var singleWord = false
    }
    /// Longest first, so the first hit at a position is the longest.
    private let tokens: [Token]
    private let firstScalars: Set<UInt32>

    init(_ tokens: [Token]) {
        self.tokens = tokens.filter { !$0.scalars.isEmpty }.sorted { $0.scalars.count > $1.scalars.count }
        firstScalars = Set(self.tokens.map { $0.scalars[0] })
    }

    var isEmpty: Bool { tokens.isEmpty }
    /// The largest id among them (they may lie beyond the model's vocabulary).
    var maxId: Int32? { tokens.map(\.id).max() }

    /// A match: the token, the text range it takes (its content plus stripped whitespace), and
    /// its content's range (the token's offsets, as HF reports them).
    struct Match {
        var id: Int32
        var range: Range<Int>
        var content: Range<Int>
    }

    /// The matches in `text`, left to right, none overlapping.
    func matches(in text: UnsafeBufferPointer<UInt32>) -> [Match] {
        guard !tokens.isEmpty else { return [] }
        var found: [Match] = []
        var i = 0
        var floor = 0  // an lstrip may not reach into an earlier match
        while i < text.count {
            guard firstScalars.contains(text[i]), let token = longest(at: i, in: text) else { i += 1; continue }
            var start = i, end = i + token.scalars.count
            if token.singleWord, (i > 0 && isWordCharacter(text[i - 1])) || (end < text.count && isWordCharacter(text[end])) {
                i = end  // the search goes on after the match it discards
                continue
            }
            if token.lstrip { while start > floor, isWhitespace(text[start - 1]) { start -= 1 } }
            if token.rstrip { while end < text.count, isWhitespace(text[end]) { end += 1 } }
            found.append(Match(id: token.id, range: start..<end, content: i..<(i + token.scalars.count)))
            i = end
            floor = end
        }
        return found
    }

    private func longest(at i: Int, in text: UnsafeBufferPointer<UInt32>) -> Token? {
        for token in tokens where i + token.scalars.count <= text.count {
            var k = 0
            while k < token.scalars.count, text[i + k] == token.scalars[k] { k += 1 }
            if k == token.scalars.count { return token }
        }
        return nil
    }

    private func isWhitespace(_ value: UInt32) -> Bool {
        Unicode.Scalar(value)?.properties.isWhitespace ?? false
    }
}

extension AddedTokens {
    /// `text`'s tokens: the added tokens where they match, and `segment`'s tokens for each
    /// stretch between them (told whether the stretch starts the text). An added token is one
    /// word; its offsets take the whitespace lstrip/rstrip took unless `offsetsOfContent`
    /// (byte-level's trim_offsets takes it out again).
    func tokenize(_ text: String, offsetsOfContent: Bool,
                  segment: (UnsafeBufferPointer<UInt32>, Range<Int>, _ first: Bool, inout TokenSequence, inout Int32) -> Void) -> TokenSequence {
        let scalars = Array(text.unicodeScalars.lazy.map(\.value))
        var out = TokenSequence()
        var word: Int32 = 0
        scalars.withUnsafeBufferPointer { text in
            var start = 0
            for match in matches(in: text) {
                segment(text, start..<match.range.lowerBound, start == 0, &out, &word)
                let span = offsetsOfContent ? match.content : match.range
                out.ids.append(match.id)
                out.offsets.append(TokenOffset(span.lowerBound, span.upperBound))
                out.wordIds.append(word)
                word += 1
                start = match.range.upperBound
            }
            segment(text, start..<text.count, start == 0, &out, &word)
        }
        return out
    }
}
