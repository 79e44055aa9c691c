import Foundation

/// One normalizer of `tokenizer.json` (or of the pipeline a converter builds from a slow file),
/// applied to a `NormalizedString` so that every character keeps its span in the original text,
/// aligned as `tokenizers` aligns it.
enum Normalizer: Sendable {
    case bert(BertNormalizerOptions)
    case strip(left: Bool, right: Bool)
    /// SentencePiece's compiled rules (`precompiled_charsmap`).
    case precompiled(Precompiled)
    /// Every non-overlapping match of `pattern`, left to right, becomes `content`.
    case replace(pattern: TextPattern, content: [UInt32])
    /// `content` before the text (when there is any text).
    case prepend([UInt32])
    case unicode(UnicodeForm)
    /// Every mark (Mn, Mc, Me) removed, as `tokenizers`' `is_combining_mark`.
    case stripAccents
    case lowercase

    func apply(to s: inout NormalizedString) {
        switch self {
        case .bert(let options): s.bertNormalize(options)
        case .strip(let left, let right): s.strip(left: left, right: right)
        case .precompiled(let rules): rules.normalize(&s)
        case .replace(let pattern, let content):
            for m in pattern.matches(in: s.scalars, 0..<s.scalars.count).reversed() { s.replaceMatch(m, with: content) }
        case .prepend(let content):
            guard !s.isEmpty else { return }
            for c in content.reversed() { s.prepend(c) }
        case .unicode(let form): s.unicodeNormalize(form)
        case .stripAccents:
            s.mapScalars {
                if $0.value < 0x300 { return [$0] }  // no marks below U+0300
                switch $0.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: return []
                default: return [$0]
                }
            }
        case .lowercase:
            s.mapScalars { c in
                if c.value < 0x80 {
                    return (0x41...0x5A).contains(c.value) ? [Unicode.Scalar(c.value + 0x20)!] : [c]
                }
                return Array(c.properties.lowercaseMapping.unicodeScalars)
            }
        }
    }
}

/// What `Replace` and `Split` look for: a literal string, a run of one character (`X{n,}`, the
/// converters' " {2,}", done without a regex engine), or any other regular expression.
enum TextPattern: Sendable {
    case literal([UInt32])
    case run(UInt32, atLeast: Int)
    case regex(RegexPattern)

    /// `pattern.string` / `pattern.regex` of `tokenizer.json`.
    static func parse(string: String?, regex: String?, file: String) throws -> TextPattern {
        if let string { return .literal(string.unicodeScalars.map(\.value)) }
        guard let regex else { throw TokenizerError.malformedFile(path: file, reason: "a pattern has neither String nor Regex") }
        if let run = repeatedCharacter(regex) { return .run(run.0, atLeast: run.1) }
        return .regex(try RegexPattern(regex, file: file))
    }

    /// `X{n,}` with X one literal character.
    static func repeatedCharacter(_ regex: String) -> (UInt32, Int)? {
        let scalars = Array(regex.unicodeScalars)
        guard scalars.count >= 5, scalars[1] == "{", regex.hasSuffix(",}"),
              let n = Int(String(String.UnicodeScalarView(scalars[2..<(scalars.count - 2)]))), n >= 1,
              !"\\.[]()*+?{}|^$".unicodeScalars.contains(scalars[0]) else { return nil }
        return (scalars[0].value, n)
    }

    /// The non-overlapping matches in `chars[range]`, left to right (empty matches skipped).
    func matches(in chars: [UInt32], _ range: Range<Int>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        switch self {
        case .literal(let needle):
            guard !needle.isEmpty else { return [] }
            var i = range.lowerBound
            while i + needle.count <= range.upperBound {
                var k = 0
                while k < needle.count, chars[i + k] == needle[k] { k += 1 }
                if k == needle.count { found.append(i..<(i + k)); i += k } else { i += 1 }
            }
        case .run(let c, let atLeast):
            var i = range.lowerBound
            while i < range.upperBound {
                guard chars[i] == c else { i += 1; continue }
                var j = i
                while j < range.upperBound, chars[j] == c { j += 1 }
                if j - i >= atLeast { found.append(i..<j) }
                i = j
            }
        case .regex(let regex):
            found = regex.matches(in: chars, range)
        }
        return found
    }
}

/// A regular expression of `tokenizer.json` (Oniguruma syntax there; the constructs tokenizers
/// use — classes, `\p{…}`, `(?i:…)`, look-ahead — mean the same in ICU's engine, which runs it
/// here). Matches are found over UTF-16 and reported in Unicode scalar indices.
struct RegexPattern: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as safe to share between threads.
    private let regex: NSRegularExpression
    let source: String

    init(_ source: String, file: String) throws {
        do { regex = try NSRegularExpression(pattern: source) } catch {
            throw TokenizerError.malformedFile(path: file, reason: "the regular expression \(source.debugDescription) does not compile")
        }
        self.source = source
    }

    func matches(in chars: [UInt32], _ range: Range<Int>) -> [Range<Int>] {
        var utf16: [UInt16] = []
        var scalarAt: [Int] = []  // UTF-16 index → scalar index (plus one past the end)
        utf16.reserveCapacity(range.count)
        for k in range {
            let v = chars[k]
            if v >= 0x10000 {
                let w = v - 0x10000
                utf16.append(UInt16(0xD800 + (w >> 10))); utf16.append(UInt16(0xDC00 + (w & 0x3FF)))
                scalarAt.append(k); scalarAt.append(k)
            } else {
                utf16.append(UInt16(v)); scalarAt.append(k)
            }
        }
        scalarAt.append(range.upperBound)
        let text = String(decoding: utf16, as: UTF16.self)
        var found: [Range<Int>] = []
        for m in regex.matches(in: text, range: NSRange(location: 0, length: utf16.count)) where m.range.length > 0 {
            found.append(scalarAt[m.range.location]..<scalarAt[m.range.location + m.range.length])
        }
        return found
    }
}

/// The four Unicode normalization forms.
enum UnicodeForm: Sendable { case nfc, nfd, nfkc, nfkd }

extension NormalizedString {
    /// NFC / NFD / NFKC / NFKD aligned as `tokenizers` aligns them: each character decomposed
    /// (its first part keeping its place, the others counted as inserted), marks put in canonical
    /// order carrying that bookkeeping with them, then (C forms) composed, a composite absorbing
    /// the characters it swallowed; spans are then read back positionally — a kept character
    /// takes the span of the original character at its place, an inserted one the span before it.
    mutating func unicodeNormalize(_ form: UnicodeForm) {
        guard scalars.contains(where: { $0 >= 0xA0 }) else { return }  // ASCII is invariant
        let compatibility = form == .nfkc || form == .nfkd
        var chars: [(value: UInt32, change: Int)] = []
        chars.reserveCapacity(scalars.count)
        for v in scalars {
            guard v >= 0xA0, let scalar = Unicode.Scalar(v) else { chars.append((v, 0)); continue }
            let one = String(scalar)
            let parts = compatibility ? one.decomposedStringWithCompatibilityMapping : one.decomposedStringWithCanonicalMapping
            for (k, part) in parts.unicodeScalars.enumerated() { chars.append((part.value, k == 0 ? 0 : 1)) }
        }
        // Canonical order: each run of marks sorted by combining class, stably.
        var i = 0
        while i < chars.count {
            guard combiningClass(chars[i].value) != 0 else { i += 1; continue }
            var j = i
            while j < chars.count, combiningClass(chars[j].value) != 0 { j += 1 }
            if j - i > 1 {
                let sorted = chars[i..<j].enumerated().sorted {
                    let (a, b) = (combiningClass($0.element.value), combiningClass($1.element.value))
                    return a != b ? a < b : $0.offset < $1.offset
                }.map(\.element)
                chars.replaceSubrange(i..<j, with: sorted)
            }
            i = j
        }
        if form == .nfc || form == .nfkc { chars = Self.compose(chars) }
        // Spans read back positionally.
        var newScalars: [UInt32] = []
        var newSpans: [(start: Int32, end: Int32)] = []
        newScalars.reserveCapacity(chars.count)
        newSpans.reserveCapacity(chars.count)
        var index = 0
        for (value, change) in chars {
            let span: (start: Int32, end: Int32)
            if change > 0 {
                span = index > 0 ? spans[index - 1] : (0, 0)
            } else {
                span = index < spans.count ? spans[index] : (spans.last ?? (0, 0))
                index += 1 - change
            }
            newScalars.append(value)
            newSpans.append(span)
        }
        scalars = newScalars
        spans = newSpans
    }

    /// Canonical composition: each character joins the last starter when nothing between them
    /// blocks it and the pair has a primary composite.
    private static func compose(_ chars: [(value: UInt32, change: Int)]) -> [(value: UInt32, change: Int)] {
        var out: [(value: UInt32, change: Int)] = []
        out.reserveCapacity(chars.count)
        var starter: Int? = nil
        var lastClass: UInt8 = 0
        for c in chars {
            let cc = combiningClass(c.value)
            if let s = starter, c.value >= 0x300 {  // no composite has a second part below U+0300
                let adjacent = out.count - 1 == s
                if adjacent || (lastClass != 0 && lastClass < cc), let composite = primaryComposite(out[s].value, c.value) {
                    out[s] = (composite, out[s].change + c.change - 1)
                    continue
                }
            }
            if cc == 0 { starter = out.count }
            lastClass = cc
            out.append(c)
        }
        return out
    }

    private static func primaryComposite(_ a: UInt32, _ b: UInt32) -> UInt32? {
        // Hangul by arithmetic (Foundation does not join an LV syllable with a trailing jamo).
        if (0x1100...0x1112).contains(a), (0x1161...0x1175).contains(b) {
            return 0xAC00 + ((a - 0x1100) * 21 + (b - 0x1161)) * 28
        }
        if (0xAC00...0xD7A3).contains(a), (a - 0xAC00) % 28 == 0, (0x11A8...0x11C2).contains(b) {
            return a + (b - 0x11A7)
        }
        guard let x = Unicode.Scalar(a), let y = Unicode.Scalar(b) else { return nil }
        var pair = String.UnicodeScalarView()
        pair.append(x)
        pair.append(y)
        let composed = String(pair).precomposedStringWithCanonicalMapping.unicodeScalars
        guard composed.count == 1, let only = composed.first else { return nil }
        return only.value
    }
}

@inline(__always)
private func combiningClass(_ v: UInt32) -> UInt8 {
    guard v >= 0x300, let scalar = Unicode.Scalar(v) else { return 0 }
    return UInt8(truncatingIfNeeded: scalar.properties.canonicalCombiningClass.rawValue)
}

extension NormalizedString {
    /// `BertNormalizer` on text already normalized by earlier steps: the normalized characters
    /// come from `BertNormalizerOptions.normalize`, each keeping the span of the character it
    /// came from.
    mutating func bertNormalize(_ options: BertNormalizerOptions) {
        var out = NormalizedText()
        scalars.withUnsafeBufferPointer { options.normalize($0, 0..<$0.count, into: &out) }
        spans = out.origins.map { spans[Int($0)] }
        scalars = out.scalars
    }
}
