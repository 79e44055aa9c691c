/// A JSON value that keeps object keys in file order — the one JSON type of the project.
///
/// Read with `JSONValue.parse`, written with `pythonText` (byte-for-byte what Python's
/// `json.dumps` writes, for files the official scripts and transformers compare) or
/// `compactText` (one-line output of the CLI and the server); typed files go through
/// `Decodable`/`Encodable` with `JSONValueDecoder` / `JSONValueEncoder`.
///
/// Why key order matters: the official SQuAD v2 script walks the no-answer probability file in
/// key order (a stable sort by probability), Hugging Face prints answers as
/// `score, start, end, answer`, and config files diff cleanly against transformers' own.
/// Integers and floats stay apart, as Python keeps `0` and `0.0` apart.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer literal that fits in `Int`.
    case int(Int)
    /// Any other number (a fraction, an exponent, or an integer too large for `Int`).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value of `key` in an object (the last one when a key repeats, as Python's `json` does).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// The number as a `Double`, integer or not; nil for other types.
    public var number: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .double(let x): return x
        default: return nil
        }
    }

    /// A short name of the JSON type, for error messages ("expected a string, found number").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The type with an article, integers told apart: "an integer", "a number", "an object".
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .int: return "an integer"
        case .array, .object: return "an \(typeName)"
        default: return "a \(typeName)"
        }
    }
}
