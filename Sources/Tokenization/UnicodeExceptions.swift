/// Where `tokenizers`' frozen Unicode tables disagree with Swift's current ones.
///
/// `tokenizers` takes Cc/Cf/Co/Cs, P* and Mn from the `unicode_categories` crate, whose tables
/// are Unicode 8.0. A code point assigned after 8.0 is therefore neither control, punctuation
/// nor nonspacing mark there, and a few older code points have changed category since.
/// Verified against every code point (Tests/Fixtures/unicode-bert-reference.txt).
enum UnicodeExceptions {
    static func adjust(_ v: UInt32, _ flags: UInt8) -> UInt8 {
        let categoryFlags = CharClass.control | CharClass.punctuation | CharClass.nonspacingMark
        guard v >= 0x80, let scalar = Unicode.Scalar(v) else { return flags }
        var flags = flags
        if let age = scalar.properties.age, age.major > 8 {
            // Unknown to Unicode 8.0: only ASCII-free, category-free behaviour remains.
            flags &= ~categoryFlags
        }
        if let fixed = unicode8Categories[v] {
            flags = (flags & ~categoryFlags) | fixed
        }
        return flags
    }

    /// Code points (assigned by 8.0) whose category changed since: their 8.0 flags.
    static let unicode8Categories: [UInt32: UInt8] = [
        0x166D: CharClass.punctuation, // CANADIAN SYLLABICS CHI SIGN: Po in 8.0, So since 12.0
        0x111C9: CharClass.punctuation, // SHARADA SANDHI MARK: Po in 8.0, Mn since 11.0
        0x1734: CharClass.nonspacingMark, // HANUNOO SIGN PAMUDPOD: Mn in 8.0, Mc since 14.0
        0x1171E: CharClass.nonspacingMark, // AHOM CONSONANT SIGN MEDIAL RA: Mn in 8.0, Mc since 14.0
        0x1885: 0, 0x1886: 0, // MONGOLIAN LETTER ALI GALI BALUDA/THREE BALUDA: Mn since 9.0
        0xA9BD: 0, // JAVANESE CONSONANT SIGN KERET: Mc in 8.0, Mn since 12.0
    ]
}
