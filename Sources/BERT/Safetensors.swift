import Foundation
import Support

/// Element types of the safetensors format.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL
    case F8_E4M3, F8_E5M2

    public var byteSize: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2: return 1
        }
    }

    /// Types the model converts to Float32 when loading weights.
    public var isModelFloat: Bool { self == .F32 || self == .F16 || self == .BF16 }
}

/// A `.safetensors` file, read once (memory-mapped) and validated up front: every tensor's
/// dtype, shape and byte range are checked before any is used.
public struct SafetensorsFile: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        /// Byte range inside the data section (after the 8-byte length and the header).
        public let range: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The path (or label) used in error messages.
    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// Entry names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Memory-maps and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BertError.fileNotFound(path: url.path)
        }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw BertError.unreadableFile(path: url.path, reason: "\(error)")
        }
        try self.init(data: data, path: url.path)
    }

    /// Validates safetensors bytes already in memory; `path` labels errors.
    public init(data: Data, path: String) throws {
        self.path = path
        self.bytes = data
        guard data.count >= 8 else { throw SafetensorsError.fileTooShort(path: path, size: data.count) }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard length <= UInt64(data.count - 8) else {
            throw SafetensorsError.headerLengthOutOfRange(path: path, headerLength: length, fileSize: data.count)
        }
        dataStart = 8 + Int(length)
        let headerBytes = data[(data.startIndex + 8)..<(data.startIndex + dataStart)]
        let header: JSONValue
        do { header = try JSONValue.parse(Data(headerBytes)) } catch {
            throw SafetensorsError.invalidHeader(path: path, reason: "not JSON (\(error))")
        }
        guard case .object(let members) = header else {
            throw SafetensorsError.invalidHeader(path: path, reason: "not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw SafetensorsError.invalidHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (k, v) in pairs {
                    if case .string(let text) = v { metadata[k] = text } else { metadata[k] = v.compactText }
                }
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value: value, path: path, dataSize: data.count - dataStart)
        }
        try Self.checkOverlaps(Array(entries.values), path: path)
        self.entries = entries
        self.metadata = metadata
    }

    private static func parseEntry(name: String, value: JSONValue, path: String, dataSize: Int) throws -> Entry {
        guard case .object = value else {
            throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "entry is not an object")
        }
        guard case .string(let dtypeName)? = value["dtype"] else {
            throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "missing \"dtype\"")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shape = integers(value["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "\"shape\" is not a list of non-negative integers")
        }
        guard let offsets = integers(value["data_offsets"]), offsets.count == 2 else {
            throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "\"data_offsets\" is not [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw SafetensorsError.offsetsOutOfRange(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        var expected = dtype.byteSize
        for d in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "shape \(shape) is too large")
            }
            expected = product
        }
        guard expected == end - begin else {
            throw SafetensorsError.byteCountMismatch(
                path: path, tensor: name, shape: shape, dtype: dtypeName, expected: expected, actual: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, range: begin..<end)
    }

    private static func checkOverlaps(_ entries: [Entry], path: String) throws {
        let sorted = entries.filter { !$0.range.isEmpty }
            .sorted { ($0.range.lowerBound, $0.name) < ($1.range.lowerBound, $1.name) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw SafetensorsError.overlappingTensors(
                path: path, first: a.name, second: b.name, firstRange: a.range, secondRange: b.range)
        }
    }

    private static func integers(_ value: JSONValue?) -> [Int]? {
        guard case .array(let items)? = value else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let n) = item, abs(n) < 1 << 53 else { return nil }
            out.append(n)
        }
        return out
    }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafetensorsError.tensorNotFound(path: path, tensor: name) }
        return e
    }

    /// Converts a float tensor (F32, F16, BF16) into `destination` (exactly its element count).
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let e = try entry(name)
        guard e.dtype.isModelFloat else {
            throw BertError.notFloatTensor(tensor: name, dtype: e.dtype.rawValue, file: path)
        }
        guard destination.count == e.elementCount, let dst = destination.baseAddress else {
            throw BertError.shapeMismatch(tensor: name, expected: [destination.count], found: e.shape, file: path)
        }
        bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress! + dataStart + e.range.lowerBound
            HalfConversion.convert(src, dtype: e.dtype, count: e.elementCount, into: dst)
        }
    }

    /// A float tensor as a new array.
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        var out = [Float](repeating: 0, count: e.elementCount)
        try out.withUnsafeMutableBufferPointer { try copyFloats(name, into: $0) }
        return out
    }

    /// An integer tensor (I64, I32, I16, I8, U8) as Ints, e.g. reference inputs.
    public func integers(_ name: String) throws -> [Int] {
        let e = try entry(name)
        return try bytes.withUnsafeBytes { raw -> [Int] in
            let base = raw.baseAddress! + dataStart + e.range.lowerBound
            let n = e.elementCount
            switch e.dtype {
            case .I64: return (0..<n).map { Int(base.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            case .I32: return (0..<n).map { Int(base.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            case .I16: return (0..<n).map { Int(base.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
            case .I8: return (0..<n).map { Int(base.load(fromByteOffset: $0, as: Int8.self)) }
            case .U8, .BOOL: return (0..<n).map { Int(base.load(fromByteOffset: $0, as: UInt8.self)) }
            default:
                throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "dtype \(e.dtype.rawValue) is not an integer type")
            }
        }
    }
}
