import Foundation

/// A WordPiece vocabulary: token ↔ id, looked up by exact UTF-8 bytes.
///
/// Why not `[String: Int]`: Swift's `String` equality is canonical equivalence, so "é" (U+00E9)
/// and "e\u{301}" would be the same key. Hugging Face compares bytes, and a cased or multilingual
/// vocabulary can hold both forms. This table hashes and compares raw bytes, and lets WordPiece
/// look up a slice of a word, with or without the "##" prefix, without building a String.
public struct Vocabulary: Sendable {
    /// All token bytes back to back; token `id` is `bytes[starts[id] ..< starts[id + 1]]`.
    private let bytes: [UInt8]
    private let starts: [Int]
    /// Open addressing, linear probing; `-1` marks an empty slot. Capacity is a power of two.
    private let slots: [Int32]
    private let mask: Int

    public var count: Int { starts.count - 1 }

    /// Builds from tokens in id order (token `i` has id `i`). Where a token repeats,
    /// the later id wins, as in both HF loaders.
    public init(tokens: [String]) {
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        bytes.reserveCapacity(tokens.count * 8)
        starts.reserveCapacity(tokens.count + 1)
        for token in tokens {
            bytes.append(contentsOf: token.utf8)
            starts.append(bytes.count)
        }
        var capacity = 16
        while capacity < tokens.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        bytes.withUnsafeBufferPointer { all in
            for id in 0..<tokens.count {
                let token = UnsafeBufferPointer(rebasing: all[starts[id] ..< starts[id + 1]])
                var slot = Int(truncatingIfNeeded: Vocabulary.hash(prefixed: false, token)) & mask
                while true {
                    let existing = Int(slots[slot])
                    if existing < 0 { slots[slot] = Int32(id); break }
                    if Vocabulary.equal(all, starts[existing], starts[existing + 1], prefixed: false, token) {
                        slots[slot] = Int32(id) // later duplicate wins
                        break
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
        self.bytes = bytes
        self.starts = starts
        self.slots = slots
        self.mask = mask
    }

    /// The id of `token`, if present.
    public func id(of token: String) -> Int? {
        var utf8 = Array(token.utf8)
        return utf8.withUnsafeMutableBufferPointer { id(of: UnsafeBufferPointer($0), continuation: false) }
    }

    /// The token string of `id`.
    public func token(of id: Int) -> String? {
        guard id >= 0, id < count else { return nil }
        return String(decoding: bytes[starts[id] ..< starts[id + 1]], as: UTF8.self)
    }

    /// Looks up `piece` (UTF-8), or "##" + `piece` when `continuation` is true.
    @inline(__always)
    func id(of piece: UnsafeBufferPointer<UInt8>, continuation: Bool) -> Int? {
        var slot = Int(truncatingIfNeeded: Vocabulary.hash(prefixed: continuation, piece)) & mask
        return bytes.withUnsafeBufferPointer { all -> Int? in
            while true {
                let existing = Int(slots[slot])
                if existing < 0 { return nil }
                if Vocabulary.equal(all, starts[existing], starts[existing + 1], prefixed: continuation, piece) {
                    return existing
                }
                slot = (slot + 1) & mask
            }
        }
    }

    // FNV-1a, 64 bit. The "##" prefix is hashed as if it were part of the key.
    @inline(__always)
    private static func hash(prefixed: Bool, _ piece: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if prefixed {
            h = (h ^ 0x23) &* 0x100_0000_01b3
            h = (h ^ 0x23) &* 0x100_0000_01b3
        }
        for b in piece { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    @inline(__always)
    private static func equal(_ all: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int,
                              prefixed: Bool, _ piece: UnsafeBufferPointer<UInt8>) -> Bool {
        var lo = lo
        if prefixed {
            guard hi - lo == piece.count + 2, all[lo] == 0x23, all[lo + 1] == 0x23 else { return false }
            lo += 2
        } else if hi - lo != piece.count {
            return false
        }
        if piece.isEmpty { return true }
        return memcmp(all.baseAddress! + lo, piece.baseAddress!, piece.count) == 0
    }
}

extension Vocabulary {
    /// Reads a `vocab.txt`: one token per line, the line number is the id.
    /// A trailing "\r" is dropped so that files written on Windows load the same.
    public static func load(vocabTxt url: URL) throws -> Vocabulary {
        let data = try readFile(url)
        if data.isEmpty {
            throw TokenizerError.malformedFile(path: url.path, reason: "the vocabulary is empty")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TokenizerError.malformedFile(path: url.path, reason: "not valid UTF-8")
        }
        var tokens = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        // A final newline ends the last line; it does not start an empty token.
        if tokens.last == "" { tokens.removeLast() }
        return Vocabulary(tokens: tokens)
    }
}

/// Reads a whole file, turning Foundation's errors into `TokenizerError`s that name the path.
func readFile(_ url: URL) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw TokenizerError.fileNotFound(path: url.path)
    }
    if isDirectory.boolValue {
        throw TokenizerError.unreadableFile(path: url.path, reason: "is a directory")
    }
    // An empty file is returned as such without Data(contentsOf:): on Linux, swift-foundation's
    // zero-size read path leaks a 4 KB buffer (found by the SQuAD fuzzer).
    var info = stat()
    if stat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size == 0 { return Data() }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw TokenizerError.unreadableFile(path: url.path, reason: "\(error.localizedDescription)")
    }
}
