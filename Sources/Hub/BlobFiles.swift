import Crypto
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Appends a download's bytes to its `.incomplete` file with plain `write(2)`, so that a full
/// disk is told apart (ENOSPC) from other failures.
final class BlobWriter {
    let url: URL
    private let descriptor: Int32

    init(_ url: URL) throws(HubError) {
        self.url = url
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: url.deletingLastPathComponent().path, reason: "\(error)")
        }
        descriptor = open(url.path, O_WRONLY | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw Self.failure(url) }
    }

    var size: Int { Int(lseek(descriptor, 0, SEEK_END)) }

    /// Keeps the first `offset` bytes and writes from there on.
    func truncate(at offset: Int) throws(HubError) {
        if size != offset, ftruncate(descriptor, off_t(offset)) != 0 { throw Self.failure(url) }
        guard lseek(descriptor, off_t(offset), SEEK_SET) >= 0 else { throw Self.failure(url) }
    }

    func append(_ chunk: ByteBuffer) throws(HubError) {
        let failed: Bool = chunk.withUnsafeReadableBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(descriptor, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return true }
                done += n
            }
            return false
        }
        if failed { throw Self.failure(url) }
    }

    func close() { Glibc.close(descriptor) }

    private static func failure(_ url: URL) -> HubError {
        let code = errno
        if code == ENOSPC || code == EDQUOT { return .diskFull(path: url.path) }
        return .cannotWrite(path: url.path, reason: String(cString: strerror(code)))
    }
}

/// The hash the Hub names a file by: sha256 for LFS files (a 64-hex ETag), the git blob hash —
/// sha1 of "blob <size>\0" + bytes — for files in git itself (a 40-hex ETag).
enum FileHash {
    /// The file's hash of the kind `etag` is, or nil when the ETag is neither kind.
    static func matching(etag: String, of url: URL) throws(HubError) -> String? {
        let isHex = etag.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        guard isHex, etag.utf8.count == 64 || etag.utf8.count == 40 else { return nil }
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            if etag.utf8.count == 64 {
                var hash = SHA256()
                while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hash.update(data: data) }
                return hex(hash.finalize())
            }
            let size = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            var hash = Insecure.SHA1()
            hash.update(data: Data("blob \(size)\0".utf8))
            while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hash.update(data: data) }
            return hex(hash.finalize())
        } catch {
            throw .cannotWrite(path: url.path, reason: "cannot read it back: \(error)")
        }
    }

    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hash = SHA256()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hash.update(data: data) }
        return hex(hash.finalize())
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
