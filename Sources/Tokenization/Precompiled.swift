import Foundation

/// SentencePiece's compiled normalization rules (`precompiled_charsmap`, from a `.model` file's
/// normalizer spec or `tokenizer.json`): a double-array trie over UTF-8 byte strings whose values
/// point into a blob of NUL-terminated replacements. Applied grapheme by grapheme as
/// `tokenizers` applies it: a grapheme shorter than 6 bytes with a rule is replaced whole (by
/// the rule of its shortest matching prefix), otherwise each character with a rule is.
struct Precompiled: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]
    /// The rule of each one-character key below U+0300 (looked up once: most text is there).
    private var lowRules: [[UInt32]?] = []

    /// `data`: a little-endian u32 trie size in bytes, the trie's units, then the replacements.
    init(_ data: [UInt8], file: String) throws {
        func fail(_ why: String) -> TokenizerError { .malformedFile(path: file, reason: "precompiled_charsmap \(why)") }
        guard data.count >= 4 else { throw fail("is shorter than its header") }
        let trieBytes = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
        guard trieBytes % 4 == 0, trieBytes >= 4, 4 + trieBytes <= data.count else { throw fail("has a trie size (\(trieBytes)) outside the data") }
        var units = [UInt32](repeating: 0, count: trieBytes / 4)
        for k in 0..<units.count {
            let b = 4 + 4 * k
            units[k] = UInt32(data[b]) | UInt32(data[b + 1]) << 8 | UInt32(data[b + 2]) << 16 | UInt32(data[b + 3]) << 24
        }
        self.units = units
        replacements = Array(data[(4 + trieBytes)...])
        lowRules = (0..<0x300).map { value in Unicode.Scalar(value).flatMap { self.replacement(Array(String($0).utf8)[...]) } }
    }

    /// The replacement of the shortest key that prefixes `key`, if any (darts-clone's
    /// common-prefix search, first result).
    func replacement(_ key: ArraySlice<UInt8>) -> [UInt32]? {
        var node = 0
        guard !units.isEmpty else { return nil }
        node ^= offset(units[0])
        for byte in key where byte != 0 {
            node ^= Int(byte)
            guard node < units.count else { return nil }
            let unit = units[node]
            guard unit & (0x8000_0000 | 0xFF) == UInt32(byte) else { return nil }
            node ^= offset(unit)
            guard node < units.count else { return nil }
            if (unit >> 8) & 1 == 1 {
                let start = Int(units[node] & 0x7FFF_FFFF)
                guard start < replacements.count else { return nil }
                var end = start
                while end < replacements.count, replacements[end] != 0 { end += 1 }
                return Array(String(decoding: replacements[start..<end], as: UTF8.self).unicodeScalars.map(\.value))
            }
        }
        return nil
    }

    private func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    private func rule(_ scalar: UInt32) -> [UInt32]? {
        if scalar < 0x300 { return lowRules[Int(scalar)] }
        return Unicode.Scalar(scalar).flatMap { replacement(Array(String($0).utf8)[...]) }
    }

    func normalize(_ text: inout NormalizedString) {
        guard !text.isEmpty else { return }
        let chars = text.scalars
        var changes: [(range: Range<Int>, replacement: [UInt32])] = []
        var i = 0
        while i < chars.count {
            // Below U+0300 no character extends a grapheme, so a character there followed by
            // another there (CR LF aside) is a grapheme of its own: no segmentation needed.
            let c = chars[i]
            if c < 0x300, i + 1 == chars.count || (chars[i + 1] < 0x300 && !(c == 0x0D && chars[i + 1] == 0x0A)) {
                if let r = rule(c) { changes.append((i..<(i + 1), r)) }
                i += 1
                continue
            }
            // Otherwise the grapheme starting here, by Swift's extended grapheme clusters (the
            // window grows until the grapheme ends inside it).
            var width = 16
            var scalars: [UInt32] = []
            var bytes: [UInt8] = []
            while true {
                let end = min(i + width, chars.count)
                let window = String(String.UnicodeScalarView(chars[i..<end].compactMap(Unicode.Scalar.init)))
                guard let grapheme = window.first else { break }
                scalars = grapheme.unicodeScalars.map(\.value)
                bytes = Array(grapheme.utf8)
                if i + scalars.count < end || end == chars.count { break }
                width *= 4
            }
            guard !scalars.isEmpty else { i += 1; continue }
            if bytes.count < 6, let r = replacement(bytes[...]) {
                changes.append((i..<(i + scalars.count), r))
            } else {
                for (k, scalar) in scalars.enumerated() {
                    if let r = rule(scalar) { changes.append(((i + k)..<(i + k + 1), r)) }
                }
            }
            i += scalars.count
        }
        // Right to left, so earlier ranges stay valid.
        for change in changes.reversed() { text.replace(change.range, with: change.replacement) }
    }
}
