import Foundation

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
    public static func header(for tensors: [Tensor], metadata: [String: String]) throws -> Data {
        var entries: [String: Any] = [:]
        if !metadata.isEmpty { entries["__metadata__"] = metadata }
        var offset = 0
        for t in tensors.sorted(by: { $0.name < $1.name }) {
            entries[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
            offset += t.bytes.count
        }
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys]) } catch {
            throw BertError.writeFailed(path: "safetensors header", reason: "\(error)")
        }
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
        let head = try header(for: tensors, metadata: metadata)
        try AtomicFile.write(to: url) { handle in
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

/// Temp file + fsync + rename in the destination's folder.
public enum AtomicFile {
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
            throw BertError.writeFailed(path: url.path, reason: "cannot create \(temp.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temp)
            do {
                try body(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temp.path, url.path) == 0 else {
                throw BertError.writeFailed(path: url.path, reason: "rename failed (errno \(errno))")
            }
        } catch let error as BertError {
            try? FileManager.default.removeItem(at: temp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw BertError.writeFailed(path: url.path, reason: "\(error)")
        }
    }

    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(contentsOf: data) }
    }
}
