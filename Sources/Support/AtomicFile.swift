import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be written. `underlying` is the error the writing code threw, if that
/// was the cause.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public let underlying: (any Error)?

    public var description: String { "cannot write \(path): \(reason)" }
}

/// Files written whole or not at all: a temporary file in the destination's folder, fsync,
/// rename over the destination. Readers (and a run that resumes after a crash) see the old file
/// or the complete new one, never a part; on failure the temporary file is removed.
public enum AtomicFile {
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws(FileWriteError) {
        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
            throw FileWriteError(path: url.path, reason: "cannot create \(temp.path)", underlying: nil)
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
                throw FileWriteError(path: url.path, reason: "rename failed (errno \(errno))", underlying: nil)
            }
        } catch let error as FileWriteError {
            try? FileManager.default.removeItem(at: temp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw FileWriteError(path: url.path, reason: "\(error)", underlying: error)
        }
    }

    public static func write(_ data: Data, to url: URL) throws(FileWriteError) {
        try write(to: url) { try $0.write(contentsOf: data) }
    }
}
