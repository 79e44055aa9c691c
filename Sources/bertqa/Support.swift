import ArgumentParser
import Foundation
import Support
#if canImport(Glibc)
import Glibc
#endif

/// An error the CLI prints as one line before exiting non-zero.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    /// Runs `body`, turning any library error into a one-line CLI error.
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(description: "\(error)")
        }
    }
}

/// `{"error":"…"}`: the line the CLI writes for an input line it could not answer.
func errorJSON(_ message: String) -> String {
    JSONValue.object([("error", .string(message))]).compactText
}

/// Buffers stdout writes; `print` per line is slow for large outputs.
struct BufferedOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
