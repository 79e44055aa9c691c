import ArgumentParser
import Foundation
import Inference
import Kernels
import Support
import Synchronization
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
        let folder = try CLIError.wrap { try ModelLocation.folder(for: model, revision: revision) }
        say(model, folder)
        return folder
    }

    func folder(_ model: String) async throws -> URL {
        let folder: URL
        do { folder = try await ModelLocation.folder(for: model, revision: revision) } catch { throw CLIError(description: "\(error)") }
        say(model, folder)
        return folder
    }

    /// With --verbose: where a Hub id was found.
    private func say(_ model: String, _ folder: URL) {
        if folder.path != URL(fileURLWithPath: model).path { Console.detail("\(model) is \(folder.path)") }
    }
}

/// `--model` and `--revision`, the same in every command that takes a model.
struct ModelOption: ParsableArguments {
    @Option(help: ArgumentHelp("Model folder (as save_pretrained writes it) or Hub id (org/name).",
                               valueName: "folder-or-hub-id"))
    var model: String

    @OptionGroup var revisionOption: RevisionOption

    /// The folder `--model` names (a Hub id's snapshot, downloaded when missing).
    func folder() throws -> URL { try revisionOption.folder(model) }
    func folder() async throws -> URL { try await revisionOption.folder(model) }
}


/// What the CLI says on stderr besides its results, one line at a time. `--quiet` keeps only
/// warnings (errors are thrown and printed by the parser's exit path), `--verbose` adds details.
/// Set once, before any work starts; read from any thread after.
enum Console {
    enum Level: Int { case quiet, normal, verbose }
    private static let current = Atomic<Int>(Level.normal.rawValue)
    static var level: Level {
        get { Level(rawValue: current.load(ordering: .relaxed)) ?? .normal }
        set { current.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// A progress or report line (not with --quiet).
    static func say(_ line: String) { if level != .quiet { write(line) } }
    /// Always said: something the user should know about the result.
    static func warn(_ line: String) { write("warning: " + line) }
    /// Only with --verbose.
    static func detail(_ line: String) { if level == .verbose { write(line) } }

    static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// `--quiet` / `--verbose`, on every command that reports on stderr.
struct VerbosityOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Say nothing on stderr but warnings and errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Also say what was loaded from where, and timings.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot go together") }
    }

    /// Sets `Console.level` for this run.
    func apply() { Console.level = quiet ? .quiet : verbose ? .verbose : .normal }
}

/// One name per setting across commands, with the spellings users bring as aliases. The
/// pipeline's parameter names lead (the same as `serve`'s JSON parameters); run_qa.py's and the
/// tokenizer's spellings are accepted too.
enum OptionNames {
    /// Tokens per window: the pipeline's max_seq_len; run_qa's max_seq_length; the tokenizer's max_length.
    static let maxSeqLen: NameSpecification = [.customLong("max-seq-len"), .customLong("max-seq-length"), .customLong("max-length")]
    /// Overlap between windows: doc_stride in both the pipeline and run_qa; the tokenizer's stride.
    static let docStride: NameSpecification = [.customLong("doc-stride"), .customLong("stride")]
    /// The overlap when --doc-stride is not given: the pipeline's default, min(max_seq_len / 2, 128)
    /// (`QuestionAnswerer.windows` applies the same default when answering).
    static func docStride(_ given: Int?, maxSeqLen: Int) -> Int { given ?? min(maxSeqLen / 2, 128) }
    /// Longest answer in tokens: the pipeline's max_answer_len; run_qa's max_answer_length.
    static let maxAnswerLen: NameSpecification = [.customLong("max-answer-len"), .customLong("max-answer-length")]
}

/// The lines a report.html starts with: what the command was given, then when, which release
/// and which CPU (every figure names its CPU).
func reportDetails(_ given: [(String, String)]) -> [(String, String)] {
    given + [("date", Date.ISO8601FormatStyle().format(Date())), ("bertqa", BertQA.version),
             ("CPU", HostCPU.current.description)]
}
