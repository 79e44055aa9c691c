import Foundation
import Support

/// Writes `.safetensors` files atomically: header and tensors go to a temporary file in the
/// destination's folder, which is renamed over the destination only once complete and synced.
/// A crash mid-write leaves the previous file (or none), never a half-written one.
public enum SafetensorsWriter {
    /// One tensor to write: raw little-endian bytes come from `bytes` (not copied up front).
    public struct Tensor {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        public let bytes: UnsafeRawBufferPointer

        public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: UnsafeRawBufferPointer) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// A Float32 tensor viewing `values`.
        public init(name: String, shape: [Int], floats values: UnsafeBufferPointer<Float>) {
            self.init(name: name, dtype: .F32, shape: shape, bytes: UnsafeRawBufferPointer(values))
        }
    }

    /// The header bytes (length prefix + JSON padded with spaces to 8-byte alignment, as the
    /// reference implementation does). Tensors are laid out in name order.
    public static func header(for tensors: [Tensor], metadata: [String: String]) -> Data {
        var entries: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            entries.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for t in tensors.sorted(by: { $0.name < $1.name }) {
            entries.append((t.name, .object([
                ("dtype", .string(t.dtype.rawValue)),
                ("shape", .array(t.shape.map { .int($0) })),
                ("data_offsets", .array([.int(offset), .int(offset + t.bytes.count)])),
            ])))
            offset += t.bytes.count
        }
        var json = Data(JSONValue.object(entries).compactText.utf8)
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }

    /// Writes `tensors` to `url`, atomically.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = ["format": "pt"], to url: URL) throws {
        for t in tensors where t.shape.reduce(t.dtype.byteSize, *) != t.bytes.count {
            throw BertError.writeFailed(path: url.path, reason: "tensor \"\(t.name)\" has \(t.bytes.count) bytes for shape \(t.shape)")
        }
        let head = header(for: tensors, metadata: metadata)
        try AtomicWrite.write(to: url) { handle in
            try handle.write(contentsOf: head)
            for t in tensors.sorted(by: { $0.name < $1.name }) where t.bytes.count > 0 {
                // Data(bytesNoCopy:) hands the tensor's memory straight to write(2).
                let chunk = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: t.bytes.baseAddress!),
                                 count: t.bytes.count, deallocator: .none)
                try handle.write(contentsOf: chunk)
            }
        }
    }
}

/// `AtomicFile` with this module's errors: a `BertError` thrown while writing comes out as it
/// is, any other failure as `BertError.writeFailed` naming the file.
enum AtomicWrite {
    static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        do {
            try AtomicFile.write(to: url, body)
        } catch {
            if let inner = error.underlying as? BertError { throw inner }
            throw BertError.writeFailed(path: error.path, reason: error.reason)
        }
    }

    static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(contentsOf: data) }
    }
}
