/// Writing JSON text in the two forms the project needs.
extension JSONValue {
    /// `json.dumps(value, indent=indent, sort_keys=sortKeys)` byte for byte (`ensure_ascii`,
    /// Python's float repr), for files compared with what the official scripts and
    /// transformers write.
    public func pythonText(indent: Int? = nil, sortKeys: Bool = false) -> String {
        var out = ""
        JSONWriter(indent: indent, sortKeys: sortKeys, asciiOnly: true, itemSeparator: ", ", keySeparator: ": ")
            .write(self, level: 0, into: &out)
        return out
    }

    /// One line without spaces, UTF-8 left as it is (`json.dumps(value, separators=(",", ":"),
    /// ensure_ascii=False)`): the CLI's JSON lines and the server's bodies.
    public var compactText: String {
        var out = ""
        JSONWriter(indent: nil, sortKeys: false, asciiOnly: false, itemSeparator: ",", keySeparator: ":")
            .write(self, level: 0, into: &out)
        return out
    }
}

/// The writer behind `pythonText` and `compactText`; its string and number pieces are public
/// for output loops that write large arrays without building a `JSONValue` first.
public struct JSONWriter {
    let indent: Int?
    let sortKeys: Bool
    let asciiOnly: Bool
    let itemSeparator: String
    let keySeparator: String

    func write(_ value: JSONValue, level: Int, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let n): out += String(n)
        case .double(let x): out += JSONWriter.pythonFloat(x)
        case .string(let s): JSONWriter.appendString(s, asciiOnly: asciiOnly, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (k, item) in items.enumerated() {
                separator(first: k == 0, level: level + 1, into: &out)
                write(item, level: level + 1, into: &out)
            }
            closing(level: level, into: &out)
            out += "]"
        case .object(var members):
            if members.isEmpty { out += "{}"; return }
            if sortKeys { members.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            out += "{"
            for (k, member) in members.enumerated() {
                separator(first: k == 0, level: level + 1, into: &out)
                JSONWriter.appendString(member.key, asciiOnly: asciiOnly, to: &out)
                out += keySeparator
                write(member.value, level: level + 1, into: &out)
            }
            closing(level: level, into: &out)
            out += "}"
        }
    }

    private func separator(first: Bool, level: Int, into out: inout String) {
        if let indent {
            out += first ? "\n" : ",\n"
            out += String(repeating: " ", count: indent * level)
        } else if !first {
            out += itemSeparator
        }
    }

    private func closing(level: Int, into out: inout String) {
        guard let indent else { return }
        out += "\n" + String(repeating: " ", count: indent * level)
    }

    /// A string literal as Python writes it: the short escapes, other controls as `\u00XX`;
    /// with `asciiOnly` (`ensure_ascii`) everything outside ' '...'~' is escaped too, astral
    /// code points as UTF-16 surrogate pairs.
    public static func appendString(_ s: String, asciiOnly: Bool, to out: inout String) {
        out += "\""
        func hex(_ v: UInt32) {
            let digits = String(v, radix: 16)
            out += "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                let v = scalar.value
                if v < 0x20 || (asciiOnly && v == 0x7F) {
                    hex(v)
                } else if v <= 0x7E || !asciiOnly {
                    out.unicodeScalars.append(scalar)
                } else if v > 0xFFFF {
                    let u = v - 0x10000
                    hex(0xD800 + (u >> 10))
                    hex(0xDC00 + (u & 0x3FF))
                } else {
                    hex(v)
                }
            }
        }
        out += "\""
    }

    /// `s` as a compact (UTF-8) string literal.
    public static func string(_ s: String) -> String {
        var out = ""
        appendString(s, asciiOnly: false, to: &out)
        return out
    }

    /// `[1,2,3]` without building a `JSONValue`: token ids are written by the million.
    public static func appendInts(_ values: some Collection<some BinaryInteger>, to out: inout String) {
        out += "["
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += String(v)
        }
        out += "]"
    }

    /// Python's `repr(float)`: the shortest round-trip digits, positional when the decimal
    /// exponent is in -4..<16, otherwise `d.ddde±XX`; `NaN` and `Infinity` as `json.dumps` writes them.
    public static func pythonFloat(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-Infinity" : "Infinity" }
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also prints the shortest round-trip digits; only the layout differs.
        let (negative, digits, exponent) = decompose("\(x)")
        var out = negative ? "-" : ""
        if exponent >= -4 && exponent < 16 {
            if exponent < 0 {
                out += "0." + String(repeating: "0", count: -exponent - 1) + digits
            } else if digits.count > exponent + 1 {
                let cut = digits.index(digits.startIndex, offsetBy: exponent + 1)
                out += digits[..<cut] + "." + digits[cut...]
            } else {
                out += digits + String(repeating: "0", count: exponent + 1 - digits.count) + ".0"
            }
        } else {
            out += String(digits.prefix(1))
            if digits.count > 1 { out += "." + digits.dropFirst() }
            let e = abs(exponent)
            out += (exponent < 0 ? "e-" : "e+") + (e < 10 ? "0" : "") + String(e)
        }
        return out
    }

    /// Splits Swift's "123.45" / "1.2345e-05" into sign, significant digits (no leading or
    /// trailing zeros) and the decimal exponent of the first digit.
    static func decompose(_ text: String) -> (Bool, String, Int) {
        var s = Substring(text)
        let negative = s.hasPrefix("-")
        if negative { s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(s[s.index(after: e)...]) ?? 0
            s = s[..<e]
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts.first.map(String.init) ?? ""
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var all = whole + fraction
        var pointAt = whole.count  // digits before the decimal point
        while all.hasPrefix("0") && all.count > 1 { all.removeFirst(); pointAt -= 1 }
        while all.hasSuffix("0") && all.count > 1 { all.removeLast() }
        return (negative, all, exponent + pointAt - 1)
    }
}
