/// `Decodable` types read from a `JSONValue`, so typed files (`config.json`, `tokenizer.json`,
/// `trainer_state.json`) share the one parser and get one-line errors that name the JSON path:
/// `$.model.vocab: expected an integer, found a string`.
public enum JSONValueDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(JSONDecodingError) -> T {
        do {
            return try T(from: ValueDecoder(value: value, codingPath: []))
        } catch let error as JSONDecodingError {
            throw error
        } catch {
            // A type's own `init(from:)` threw something else (e.g. a DecodingError it made).
            throw JSONDecodingError(path: "$", reason: "\(error)")
        }
    }
}

/// Where in a JSON document a typed read failed, and why.
public struct JSONDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A JSONPath-like location: `$.data[3].title`.
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public init(_ codingPath: [any CodingKey], _ reason: String) {
        self.init(path: JSONDecodingError.path(codingPath), reason: reason)
    }

    public var description: String { "\(path): \(reason)" }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var s = "$"
        for key in codingPath {
            if let index = key.intValue { s += "[\(index)]" } else { s += ".\(key.stringValue)" }
        }
        return s
    }
}

/// An index key for arrays' coding paths.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw JSONDecodingError(codingPath, "expected an object, found \(value.kindDescription)")
        }
        // The last of repeated keys wins, as in Python's json.
        var table: [String: JSONValue] = [:]
        table.reserveCapacity(members.count)
        for member in members { table[member.key] = member.value }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: table, order: members.map(\.key), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw JSONDecodingError(codingPath, "expected an array, found \(value.kindDescription)")
        }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(value: value, codingPath: codingPath) }
}

/// Reads one scalar; every typed read in the keyed and unkeyed containers ends here.
private struct SingleValue: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func fail(_ expected: String) -> JSONDecodingError {
        JSONDecodingError(codingPath, "expected \(expected), found \(value.kindDescription)")
    }

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let b) = value else { throw fail("a boolean") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let s) = value else { throw fail("a string") }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard let x = value.number else { throw fail("a number") }
        return x
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        // 2.0 is read as 2 (Python's json writes config integers either way); 2.5 is not.
        switch value {
        case .int(let n):
            if let v = T(exactly: n) { return v }
        case .double(let x):
            if let v = T(exactly: x) { return v }
        default:
            throw fail("an integer")
        }
        throw JSONDecodingError(codingPath, "\(value.compactText) is not an integer in \(T.min)...\(T.max)")
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: codingPath))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let order: [String]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { order.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    func single(_ key: Key) throws -> SingleValue {
        guard let value = members[key.stringValue] else {
            throw JSONDecodingError(codingPath + [key], "missing")
        }
        return SingleValue(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { members[key.stringValue].map { $0 == .null } ?? true }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try single(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try single(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try single(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try single(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try single(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try single(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try single(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try single(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try single(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try single(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try single(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try single(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try single(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try single(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try single(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let s = try single(key)
        return try ValueDecoder(value: s.value, codingPath: s.codingPath).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let s = try single(key)
        return try ValueDecoder(value: s.value, codingPath: s.codingPath).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw JSONDecodingError(codingPath, "super decoders are not supported") }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw JSONDecodingError(codingPath, "super decoders are not supported") }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> SingleValue {
        let path = codingPath + [IndexKey(currentIndex)]
        guard currentIndex < items.count else {
            throw JSONDecodingError(path, "missing (the array has \(items.count) item\(items.count == 1 ? "" : "s"))")
        }
        defer { currentIndex += 1 }
        return SingleValue(value: items[currentIndex], codingPath: path)
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < items.count, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let s = try next()
        return try ValueDecoder(value: s.value, codingPath: s.codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let s = try next()
        return try ValueDecoder(value: s.value, codingPath: s.codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { throw JSONDecodingError(codingPath, "super decoders are not supported") }
}

extension JSONValue: Decodable {
    /// A `JSONValue` field of a `Decodable` type keeps the subtree as it is (only through
    /// `JSONValueDecoder`, which hands it over without re-reading).
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? ValueDecoder { self = decoder.value; return }
        throw JSONDecodingError(decoder.codingPath, "a JSONValue can only be decoded by JSONValueDecoder")
    }
}
