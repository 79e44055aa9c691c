import Foundation
import ZIPFoundation

/// `pytorch_model.bin` as `torch.save` writes it since PyTorch 1.6: a zip holding `data.pkl`
/// (the state dict's structure, a pickle) and `data/<key>` (each storage's raw little-endian
/// bytes). The pickle is read by `RestrictedUnpickler`, which runs nothing; the tensors are then
/// laid out as a safetensors file in memory, so every loader takes either format.
public enum TorchCheckpoint {
    public static func safetensors(contentsOf url: URL) throws -> SafetensorsFile {
        guard FileManager.default.fileExists(atPath: url.path) else { throw BertError.fileNotFound(path: url.path) }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw BertError.unreadableFile(path: url.path, reason:
                "not a PyTorch zip checkpoint (\(error)); checkpoints saved before PyTorch 1.6 are not read — load and save them again with a recent PyTorch, or as safetensors")
        }
        let pickles = archive.filter { $0.path.hasSuffix("/data.pkl") || $0.path == "data.pkl" }
        guard pickles.count == 1, let pickle = pickles.first else {
            throw BertError.unreadableFile(path: url.path, reason: "the zip holds \(pickles.count) data.pkl files (one expected)")
        }
        let prefix = String(pickle.path.dropLast("data.pkl".count))
        func read(_ entry: Entry) throws -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(min(Int(clamping: entry.uncompressedSize), 1 << 26))  // a header may lie
            do { _ = try archive.extract(entry, skipCRC32: false) { out.append(contentsOf: $0) } } catch {
                throw BertError.unreadableFile(path: url.path, reason: "cannot extract \(entry.path): \(error)")
            }
            return out
        }
        var unpickler = RestrictedUnpickler(bytes: try read(pickle), path: url.path + " (data.pkl)")
        guard case .dict(let pairs) = try unpickler.load() else {
            throw BertError.unreadableFile(path: url.path, reason: "data.pkl holds no state dict (a dict of tensors)")
        }

        // Each tensor's elements, contiguous, in name order (as SafetensorsWriter lays them out).
        var tensors: [(name: String, tensor: TorchTensor)] = []
        for (key, value) in pairs {
            guard case .string(let name) = key, case .tensor(let t) = value else {
                throw BertError.unreadableFile(path: url.path, reason: "the state dict holds an entry that is not name → tensor")
            }
            tensors.append((name, t))
        }
        tensors.sort { $0.name < $1.name }
        var storages: [String: [UInt8]] = [:]
        var blob: [UInt8] = []
        var layout: [(name: String, dtype: SafetensorsDType, shape: [Int], range: Range<Int>)] = []
        for (name, t) in tensors {
            if storages[t.storage.key] == nil {
                guard let entry = archive[prefix + "data/" + t.storage.key] else {
                    throw BertError.unreadableFile(path: url.path, reason: "storage \(t.storage.key) of \(name) is missing from the zip")
                }
                storages[t.storage.key] = try read(entry)
            }
            let start = blob.count
            try appendElements(of: t, from: storages[t.storage.key]!, to: &blob, name: name, path: url.path)
            layout.append((name, t.storage.dtype, t.shape, start..<blob.count))
        }
        let data = blob.withUnsafeBytes { raw -> Data in
            let entries = layout.map {
                SafetensorsWriter.Tensor(name: $0.name, dtype: $0.dtype, shape: $0.shape,
                                         bytes: UnsafeRawBufferPointer(rebasing: raw[$0.range]))
            }
            var out = SafetensorsWriter.header(for: entries, metadata: ["format": "pt"])
            out.append(contentsOf: raw)
            return out
        }
        return try SafetensorsFile(data: data, path: url.path)
    }

    /// Appends the elements of `t`, a (possibly strided) view of `storage`, in row-major order.
    private static func appendElements(of t: TorchTensor, from storage: [UInt8], to blob: inout [UInt8],
                                       name: String, path: String) throws {
        let size = t.storage.dtype.byteSize
        func bad(_ reason: String) -> BertError { .unreadableFile(path: path, reason: "tensor \(name): \(reason)") }
        guard t.shape.count == t.stride.count else { throw bad("shape \(t.shape) and stride \(t.stride) differ in rank") }
        // Sizes come from the file: every product is checked, so a hostile one is an error, not a trap.
        func product(_ a: Int, _ b: Int) throws -> Int {
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw bad("its sizes overflow") }
            return p
        }
        guard try product(t.storage.count, size) <= storage.count else {
            throw bad("its storage holds \(storage.count) bytes, fewer than \(t.storage.count) elements of \(size)")
        }
        let count = try t.shape.reduce(1) { try product($0, $1) }
        guard count > 0 else { return }
        // The last element the view reaches must lie inside the storage.
        guard t.offset >= 0, t.offset < t.storage.count else { throw bad("its offset lies outside its storage") }
        var last = t.offset
        for (n, s) in zip(t.shape, t.stride) {
            let (sum, overflow) = last.addingReportingOverflow(try product(n - 1, s))
            guard !overflow else { throw bad("its sizes overflow") }
            last = sum
        }
        guard last < t.storage.count else { throw bad("its view reaches beyond its storage") }
        var contiguous = true, expected = 1
        for (n, s) in zip(t.shape, t.stride).reversed() where n > 1 {
            if s != expected { contiguous = false }
            expected *= n
        }
        if contiguous {
            blob.append(contentsOf: storage[(t.offset * size)..<((t.offset + count) * size)])
            return
        }
        var index = [Int](repeating: 0, count: t.shape.count)
        for _ in 0..<count {
            let element = t.offset + zip(index, t.stride).reduce(0) { $0 + $1.0 * $1.1 }
            blob.append(contentsOf: storage[(element * size)..<((element + 1) * size)])
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}
