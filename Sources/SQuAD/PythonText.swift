/// Python `str` semantics that the reference code relies on. Python indexes strings by
/// Unicode scalar (code point), while Swift's `String` indexes by grapheme cluster, so every
/// character offset here counts `unicodeScalars`.
public enum PythonText {
    /// `str.isspace()` for one code point: bidirectional class WS/B/S or category Zs.
    /// Wider than Unicode White_Space: it includes the separators U+001C...U+001F.
    public static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `s.lstrip()`: drops leading Python whitespace.
    public static func lstrip(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        if first == scalars.startIndex { return s }
        return String(scalars[first...])
    }

    /// `s.strip()`: drops leading and trailing Python whitespace.
    public static func strip(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// `s.split()` with no argument: runs of Python whitespace separate words.
    public static func splitWhitespace(_ s: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if isSpace(scalar) {
                if !current.isEmpty { words.append(String(current)); current = .init() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// `len(s)`: the number of code points.
    public static func length(_ s: String) -> Int { s.unicodeScalars.count }

    /// `s[start:end]` with code-point indices, clamped as Python clamps slices
    /// (negative indices are not needed here and count as 0).
    public static func slice(_ s: String, _ start: Int, _ end: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        return slice(scalars, start, end)
    }

    /// `s[start:end]` on a pre-split scalar array (cheaper when slicing one text many times).
    public static func slice(_ scalars: [Unicode.Scalar], _ start: Int, _ end: Int) -> String {
        let lo = max(0, min(start, scalars.count))
        let hi = max(lo, min(end, scalars.count))
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[lo..<hi])
        return String(view)
    }
}
