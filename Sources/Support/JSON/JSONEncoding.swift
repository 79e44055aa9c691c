import Foundation

/// `Encodable` types written as a `JSONValue`, keys in the order the type encodes them
/// (declaration order for synthesized conformances), then as text by the one writer.
public enum JSONValueEncoder {
    public static func encode<T: Encodable>(_ value: T) throws(JSONEncodingError) -> JSONValue {
        let root = EncodedNode()
        do {
            try value.encode(to: ValueEncoder(node: root, codingPath: []))
        } catch let error as JSONEncodingError {
            throw error
        } catch {
            throw JSONEncodingError(description: "\(error)")
        }
        return root.value
    }
}

/// A value with no JSON form (a UInt64 above Int.max; nothing else today).
public struct JSONEncodingError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// A node of the tree under construction: containers hand out child nodes and read them back
/// when the parent's value is asked for, so nested containers can be filled in any order.
private final class EncodedNode {
    enum Kind { case scalar, object, array }
    var kind = Kind.scalar
    var scalar = JSONValue.null
    var keys: [String] = []
    var children: [EncodedNode] = []
    var indexOfKey: [String: Int] = [:]

    var value: JSONValue {
        switch kind {
        case .scalar: return scalar
        case .object: return .object(zip(keys, children).map { (key: $0, value: $1.value) })
        case .array: return .array(children.map(\.value))
        }
    }

    func become(_ newKind: Kind) {
        if kind != newKind { kind = newKind; keys = []; children = []; indexOfKey = [:] }
    }

    func set(_ value: JSONValue) { become(.scalar); scalar = value }

    func child(forKey key: String) -> EncodedNode {
        become(.object)
        if let k = indexOfKey[key] { return children[k] }
        let node = EncodedNode()
        indexOfKey[key] = children.count
        keys.append(key)
        children.append(node)
        return node
    }

    func appendChild() -> EncodedNode {
        become(.array)
        let node = EncodedNode()
        children.append(node)
        return node
    }
}

private struct ValueEncoder: Encoder {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.become(.object)
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.become(.array)
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValue(node: node, codingPath: codingPath) }
}

private struct SingleValue: SingleValueEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]

    func set(_ value: JSONValue) { node.set(value) }
    func integer<T: BinaryInteger>(_ n: T) throws {
        guard let v = Int(exactly: n) else {
            throw JSONEncodingError(description: "\(JSONDecodingError.path(codingPath)): \(n) does not fit a JSON integer here")
        }
        set(.int(v))
    }

    mutating func encodeNil() { set(.null) }
    mutating func encode(_ value: Bool) { set(.bool(value)) }
    mutating func encode(_ value: String) { set(.string(value)) }
    mutating func encode(_ value: Double) { set(.double(value)) }
    // Through the shortest decimal form, so 0.1 as a Float is written 0.1, as Python prints
    // float(np.float32(0.1)) only when asked; our Float fields are settings, not tensors.
    mutating func encode(_ value: Float) { set(.double(Double("\(value)") ?? Double(value))) }
    mutating func encode(_ value: Int) { set(.int(value)) }
    mutating func encode(_ value: Int8) { set(.int(Int(value))) }
    mutating func encode(_ value: Int16) { set(.int(Int(value))) }
    mutating func encode(_ value: Int32) { set(.int(Int(value))) }
    mutating func encode(_ value: Int64) { set(.int(Int(value))) }
    mutating func encode(_ value: UInt) throws { try integer(value) }
    mutating func encode(_ value: UInt8) { set(.int(Int(value))) }
    mutating func encode(_ value: UInt16) { set(.int(Int(value))) }
    mutating func encode(_ value: UInt32) { set(.int(Int(value))) }
    mutating func encode(_ value: UInt64) throws { try integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let json = value as? JSONValue { set(json); return }
        try value.encode(to: ValueEncoder(node: node, codingPath: codingPath))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodedNode
    let codingPath: [any CodingKey]

    func single(_ key: Key) -> SingleValue {
        SingleValue(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) { var s = single(key); s.encodeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: String, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Double, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Float, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Int, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Int8, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Int16, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Int32, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: Int64, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) { var s = single(key); s.encode(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { var s = single(key); try s.encode(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { var s = single(key); try s.encode(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.child(forKey: "super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        ValueEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    var count: Int { node.children.count }

    func nextPath() -> [any CodingKey] { codingPath + [IndexKey(count)] }
    func single() -> SingleValue {
        let path = nextPath()
        return SingleValue(node: node.appendChild(), codingPath: path)
    }

    mutating func encodeNil() { var s = single(); s.encodeNil() }
    mutating func encode(_ value: Bool) { var s = single(); s.encode(value) }
    mutating func encode(_ value: String) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Double) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Float) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Int) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Int8) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Int16) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Int32) { var s = single(); s.encode(value) }
    mutating func encode(_ value: Int64) { var s = single(); s.encode(value) }
    mutating func encode(_ value: UInt) throws { var s = single(); try s.encode(value) }
    mutating func encode(_ value: UInt8) { var s = single(); s.encode(value) }
    mutating func encode(_ value: UInt16) { var s = single(); s.encode(value) }
    mutating func encode(_ value: UInt32) { var s = single(); s.encode(value) }
    mutating func encode(_ value: UInt64) throws { var s = single(); try s.encode(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { var s = single(); try s.encode(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath()
        return ValueEncoder(node: node.appendChild(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath()
        return ValueEncoder(node: node.appendChild(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.appendChild(), codingPath: codingPath) }
}

extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        if let encoder = encoder as? ValueEncoder { encoder.node.set(self); return }
        throw JSONEncodingError(description: "a JSONValue can only be encoded by JSONValueEncoder")
    }
}

extension JSONValueEncoder {
    /// `value` as Python's `json.dumps` would write its dict: transformers writes its state and
    /// config files with `indent=2, sort_keys=True`.
    public static func pythonText<T: Encodable>(_ value: T, indent: Int? = nil, sortKeys: Bool = false) throws(JSONEncodingError) -> String {
        try encode(value).pythonText(indent: indent, sortKeys: sortKeys)
    }
}
