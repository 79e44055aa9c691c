/// `normalize_answer` of the official SQuAD scripts (identical in v1.1 and v2.0):
/// `white_space_fix(remove_articles(remove_punc(lower(s))))`, reproduced with Python's
/// string semantics (code points, full Unicode lower-casing, `re` word characters).
public enum AnswerNormalization {
    public static func normalize(_ s: String) -> String {
        let lowered = pythonLower(Array(s.unicodeScalars))
        let noPunctuation = lowered.filter { !isASCIIPunctuation($0) }
        let noArticles = removeArticles(noPunctuation)
        // ' '.join(text.split())
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in noArticles {
            if PythonText.isSpace(scalar) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// The whitespace tokens of the normalized answer (`normalize_answer(s).split()`).
    public static func tokens(_ s: String) -> [String] {
        normalize(s).split(separator: " ").map(String.init)
    }

    /// `string.punctuation`: ASCII only, so “curly quotes” and dashes survive, as in the official script.
    static func isASCIIPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
        default: return false
        }
    }

    /// `str.lower()`: the full lower-case mapping of each code point (İ → i̇), with the one
    /// context rule Python applies: capital sigma becomes final ς at the end of a word.
    static func pythonLower(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (i, c) in scalars.enumerated() {
            if c.value < 0x80 {
                // ASCII fast path.
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(UInt8(c.value + 32)) : c)
            } else if c == "\u{03A3}" {
                out.append(isFinalSigma(scalars, i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// Unicode's Final_Sigma condition as CPython implements it: a cased letter before
    /// (skipping case-ignorables) and none after.
    static func isFinalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count, s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }

    /// Python `re`'s `\w` with re.UNICODE: `str.isalnum()` or underscore.
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 {
            let v = c.value
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return c.properties.numericType != nil
        }
    }

    /// `re.sub(r'\b(a|an|the)\b', ' ', text)`: a match is exactly a maximal run of word
    /// characters that spells a, an or the; it becomes one space.
    static func removeArticles(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard isWordCharacter(s[i]) else { out.append(s[i]); i += 1; continue }
            var j = i
            while j < s.count, isWordCharacter(s[j]) { j += 1 }
            let word = s[i..<j]
            if word.elementsEqual(["a"]) || word.elementsEqual(["a", "n"]) || word.elementsEqual(["t", "h", "e"]) {
                out.append(" ")
            } else {
                out.append(contentsOf: word)
            }
            i = j
        }
        return out
    }
}
