import ArgumentParser
import Foundation
import Tokenization
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

/// Minimal JSON text writers for the hot output paths (faster than JSONSerialization).
enum JSONText {
    static func ints<T: BinaryInteger>(_ values: [T]) -> String {
        var s = "["
        s.reserveCapacity(values.count * 6)
        for (i, v) in values.enumerated() {
            if i > 0 { s += "," }
            s += String(v)
        }
        return s + "]"
    }

    static func offsets(_ values: [some OffsetPair]) -> String {
        var s = "["
        for (i, v) in values.enumerated() {
            if i > 0 { s += "," }
            s += "[\(v.pairStart),\(v.pairEnd)]"
        }
        return s + "]"
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    static func string(_ value: String) -> String {
        var s = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default:
                if scalar.value < 0x20 {
                    s += String(format: "\\u%04x", scalar.value)
                } else {
                    s.unicodeScalars.append(scalar)
                }
            }
        }
        return s + "\""
    }
}

protocol OffsetPair {
    var pairStart: Int { get }
    var pairEnd: Int { get }
}

extension TokenOffset: OffsetPair {
    var pairStart: Int { Int(start) }
    var pairEnd: Int { Int(end) }
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
