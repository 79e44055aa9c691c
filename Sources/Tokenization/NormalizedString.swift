import Foundation

/// Text being normalized, each character remembering the span of the original text it came
/// from (`tokenizers`' `NormalizedString`, per character rather than per byte), so a token's
/// offsets can be given in the original text however the normalizers changed it.
struct NormalizedString {
    var scalars: [UInt32]
    /// For each character, its span in the original text (Unicode scalar indices).
    var spans: [(start: Int32, end: Int32)]

    /// `text[range]` as it is: each character its own span.
    init(_ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>) {
        scalars = Array(text[range])
        spans = range.map { (Int32($0), Int32($0 + 1)) }
    }

    var isEmpty: Bool { scalars.isEmpty }

    /// Characters `range`, with their spans.
    func slice(_ range: Range<Int>) -> NormalizedString {
        var s = self
        s.scalars = Array(scalars[range])
        s.spans = Array(spans[range])
        return s
    }

    /// The original span of normalized characters `range` (first's start, last's end).
    func originalSpan(_ range: Range<Int>) -> TokenOffset {
        guard !range.isEmpty else {
            let at = range.lowerBound < spans.count ? spans[range.lowerBound].start : (spans.last?.end ?? 0)
            return TokenOffset(start: at, end: at)
        }
        return TokenOffset(start: spans[range.lowerBound].start, end: spans[range.upperBound - 1].end)
    }

    /// Replaces characters `range` by `replacement`: its k-th character takes the span of the
    /// k-th replaced one, extra characters the last one's, as `tokenizers` aligns a replacement
    /// (a shorter replacement's last character absorbs the rest).
    mutating func replace(_ range: Range<Int>, with replacement: [UInt32]) {
        let old = Array(spans[range])
        var newSpans: [(start: Int32, end: Int32)] = []
        newSpans.reserveCapacity(replacement.count)
        for k in 0..<replacement.count {
            newSpans.append(old.isEmpty ? (range.lowerBound > 0 ? spans[range.lowerBound - 1] : (0, 0)) : old[min(k, old.count - 1)])
        }
        scalars.replaceSubrange(range, with: replacement)
        spans.replaceSubrange(range, with: newSpans)
    }

    /// `Replace`'s alignment: the matched characters go, the new ones are inserted after them,
    /// each taking the span of the last character matched.
    mutating func replaceMatch(_ range: Range<Int>, with replacement: [UInt32]) {
        let span = range.isEmpty ? (range.lowerBound > 0 ? spans[range.lowerBound - 1] : (0, 0)) : spans[range.upperBound - 1]
        scalars.replaceSubrange(range, with: replacement)
        spans.replaceSubrange(range, with: Array(repeating: span, count: replacement.count))
    }

    /// Each character replaced by `map` of it (none: removed; several: all with its span), as
    /// `tokenizers`' per-character normalizers (NFKD, StripAccents, Lowercase) align them.
    mutating func mapScalars(_ map: (Unicode.Scalar) -> [Unicode.Scalar]) {
        var newScalars: [UInt32] = []
        var newSpans: [(start: Int32, end: Int32)] = []
        newScalars.reserveCapacity(scalars.count)
        newSpans.reserveCapacity(scalars.count)
        for (k, value) in scalars.enumerated() {
            guard let scalar = Unicode.Scalar(value) else { continue }
            for mapped in map(scalar) {
                newScalars.append(mapped.value)
                newSpans.append(spans[k])
            }
        }
        scalars = newScalars
        spans = newSpans
    }

    /// `prepend`: `c` before the first character, sharing its span.
    mutating func prepend(_ c: UInt32) {
        guard let first = spans.first else { return }
        scalars.insert(c, at: 0)
        spans.insert(first, at: 0)
    }

    /// `Strip`: whitespace removed at either end.
    mutating func strip(left: Bool, right: Bool) {
        func isSpace(_ v: UInt32) -> Bool { Unicode.Scalar(v)?.properties.isWhitespace ?? false }
        if right { while let last = scalars.last, isSpace(last) { scalars.removeLast(); spans.removeLast() } }
        if left {
            var n = 0
            while n < scalars.count, isSpace(scalars[n]) { n += 1 }
            scalars.removeFirst(n)
            spans.removeFirst(n)
        }
    }
}
