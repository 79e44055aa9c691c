#if canImport(Glibc)
import Glibc
#endif

/// The lines of standard input, read as bytes. Swift's `readLine` silently replaces invalid
/// UTF-8 with U+FFFD, which would answer a different text than the user sent (and shift every
/// offset after it); here such a line is reported as an error instead.
struct InputLines: Sequence, IteratorProtocol {
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var number = 0

    /// The next line (without its newline) and its 1-based number, or nil at end of input.
    mutating func next() -> (number: Int, text: Result<String, CLIError>)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                defer { start = newline + 1 }
                return line(buffer[start ..< newline])
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return line(buffer[start...])
            }
            readChunk()
        }
    }

    /// Whether the next line can be had without waiting: one is buffered, input is at its end,
    /// or what is ready to read completes one. Reads only what is ready (never blocks).
    mutating func lineReady() -> Bool {
        while true {
            if atEnd || buffer[start...].contains(UInt8(ascii: "\n")) { return true }
            var ready = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 0) > 0 else { return false }
            readChunk()
        }
    }

    /// Appends what one read(2) gives (blocks until something arrives); notes the end of input.
    private mutating func readChunk() {
        buffer.removeFirst(start)
        start = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n <= 0 { atEnd = true } else { buffer.append(contentsOf: chunk[0 ..< n]) }
    }

    private mutating func line(_ bytes: ArraySlice<UInt8>) -> (number: Int, text: Result<String, CLIError>) {
        number += 1
        var bytes = bytes
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return (number, .failure(CLIError(description: "not valid UTF-8")))
        }
        return (number, .success(text))
    }
}

/// Counts the input lines that gave an `{"error": ...}` output line, so that a run with any
/// failed line ends with a non-zero exit and one summary line on stderr.
struct LineFailures {
    private(set) var total = 0
    private(set) var failed = 0
    private var first: String?

    mutating func record(line: Int, error: String?) {
        total += 1
        guard let error else { return }
        failed += 1
        if first == nil { first = "line \(line): \(error)" }
    }

    /// Throws a one-line summary when any line failed.
    func check() throws {
        if let first {
            throw CLIError(description: "\(failed) of \(total) input lines failed (first: \(first)); each has an \"error\" output line")
        }
    }
}
