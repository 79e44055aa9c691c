/// The character classes BERT's normalizer and pre-tokenizer use, as Hugging Face's Rust
/// `tokenizers` defines them:
///
/// - control (dropped by `clean_text`): general category Cc, Cf, Co or Cs, except \t \n \r;
///   unassigned code points (Cn) are kept.
/// - whitespace: \t \n \r and the Unicode `White_Space` property.
/// - punctuation: ASCII punctuation (which includes symbols like `$` `+` `^`) or Unicode P*.
/// - Chinese: the CJK Unified Ideographs blocks BERT lists.
///
/// `tokenizers` takes Cc/Cf/Co/P*/Mn from a crate frozen at Unicode 8/9, while Swift follows a
/// current Unicode. The few code points whose category changed or that were assigned since are
/// listed in `UnicodeExceptions` (checked over all 1.1 M code points against `tokenizers`
/// 0.22.2, see `scripts/fixtures/make_unicode_reference.py`).
enum CharClass {
    static let control: UInt8 = 1
    static let whitespace: UInt8 = 2
    static let punctuation: UInt8 = 4
    static let chinese: UInt8 = 8
    static let nonspacingMark: UInt8 = 16
}

/// Flags for every BMP scalar, computed once; astral scalars are classified on the fly.
let bmpClasses: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 0x10000)
    for v in 0..<0x10000 {
        table[v] = computeClasses(UInt32(v))
    }
    return table
}()

@inline(__always)
func charClasses(_ v: UInt32) -> UInt8 {
    if v < 0x10000 { return bmpClasses[Int(v)] }
    return computeClasses(v)
}

func computeClasses(_ v: UInt32) -> UInt8 {
    guard let scalar = Unicode.Scalar(v) else {
        // Lone surrogates cannot occur in a Swift String; classify them as control anyway.
        return CharClass.control
    }
    var flags: UInt8 = 0
    let properties = scalar.properties
    let category = properties.generalCategory
    if v == 0x09 || v == 0x0A || v == 0x0D {
        flags |= CharClass.whitespace
    } else {
        switch category {
        case .control, .format, .privateUse, .surrogate: flags |= CharClass.control
        default: break
        }
        if properties.isWhitespace { flags |= CharClass.whitespace }
    }
    if v < 0x80 {
        // Rust's `is_ascii_punctuation`: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
        if (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v)
            || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v) {
            flags |= CharClass.punctuation
        }
    } else {
        switch category {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            flags |= CharClass.punctuation
        default: break
        }
    }
    if category == .nonspacingMark { flags |= CharClass.nonspacingMark }
    if isChinese(v) { flags |= CharClass.chinese }
    return UnicodeExceptions.adjust(v, flags)
}

/// The CJK blocks of BERT's `_is_chinese_char`, as the Rust normalizer lists them.
@inline(__always)
func isChinese(_ v: UInt32) -> Bool {
    switch v {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
         0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
        return true
    default:
        return false
    }
}
