import ArgumentParser
import Foundation
import Inference
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

/// `--revision`, beside every `--model`: which branch, tag or commit of a Hub id.
struct RevisionOption: ParsableArguments {
    @Option(help: "With a Hub id for --model: the branch, tag or commit (default: main).")
    var revision: String?

    /// The folder `--model` names: itself, or the Hub id's snapshot in the Hugging Face cache
    /// (downloaded when missing; HF_HUB_OFFLINE=1 for the cache only).
    func folder(_ model: String) throws -> URL {
        try CLIError.wrap { try ModelLocation.folder(for: model, revision: revision) }
    }

    func folder(_ model: String) async throws -> URL {
        do { return try await ModelLocation.folder(for: model, revision: revision) } catch { throw CLIError(description: "\(error)") }
    }
}

/// `--model`'s help, the same everywhere.
let modelHelp = "Model folder (Hugging Face layout) or Hub id (org/name), taken from or downloaded into the Hugging Face cache."
