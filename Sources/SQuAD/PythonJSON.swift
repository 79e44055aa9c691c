/// Writes JSON text byte-for-byte as Python's `json.dumps` does (default `ensure_ascii`,
/// `indent` optional), so our prediction and score files diff cleanly against the reference.
public enum PythonJSON {
    /// A value to write; objects keep their key order (Python dicts are ordered).
    public indirect enum Value: Sendable {
        case string(String)
        case double(Double)
        case int(Int)
        case bool(Bool)
        case null
        case array([Value])
        case object([(String, Value)])
    }

    /// `json.dumps(value, indent=indent)`; `indent == nil` gives the compact one-line form.
    public static func dumps(_ value: Value, indent: Int? = nil) -> String {
        var out = ""
        write(value, indent: indent, level: 0, into: &out)
        return out
    }

    static func write(_ value: Value, indent: Int?, level: Int, into out: inout String) {
        switch value {
        case .string(let s): out += string(s)
        case .double(let x): out += float(x)
        case .int(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (k, item) in items.enumerated() {
                separator(first: k == 0, indent: indent, level: level + 1, into: &out)
                write(item, indent: indent, level: level + 1, into: &out)
            }
            closing(indent: indent, level: level, into: &out)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (k, (key, item)) in members.enumerated() {
                separator(first: k == 0, indent: indent, level: level + 1, into: &out)
                out += string(key)
                out += ": "
                write(item, indent: indent, level: level + 1, into: &out)
            }
            closing(indent: indent, level: level, into: &out)
            out += "}"
        }
    }

    private static func separator(first: Bool, indent: Int?, level: Int, into out: inout String) {
        if let indent {
            out += first ? "\n" : ",\n"
            out += String(repeating: " ", count: indent * level)
        } else if !first {
            out += ", "
        }
    }

    private static func closing(indent: Int?, level: Int, into out: inout String) {
        guard let indent else { return }
        out += "\n" + String(repeating: " ", count: indent * level)
    }

    /// A string literal with `ensure_ascii`: everything outside ' '...'~' is escaped,
    /// astral code points as UTF-16 surrogate pairs.
    public static func string(_ s: String) -> String {
        var out = "\""
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
                if v >= 0x20 && v <= 0x7E {
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
        return out + "\""
    }

    /// Python's `repr(float)`: the shortest round-trip digits, positional when the decimal
    /// exponent is in -4..<16, otherwise `d.ddde±XX`.
    public static func float(_ x: Double) -> String {
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

extension PythonJSON.Value {
    /// A parsed JSON value, integers kept as Python ints.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let x, let isInteger):
            if isInteger, let n = Int(exactly: x) { self = .int(n) } else { self = .double(x) }
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(PythonJSON.Value.init))
        case .object(let members): self = .object(members.map { ($0.key, PythonJSON.Value($0.value)) })
        }
    }
}

extension PythonJSON {
    /// `json.dumps` of a parsed value (round-trips files the Python scripts wrote).
    public static func dumps(_ value: JSONValue, indent: Int? = nil) -> String {
        dumps(Value(value), indent: indent)
    }
}
