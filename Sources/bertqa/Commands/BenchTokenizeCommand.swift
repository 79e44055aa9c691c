import ArgumentParser
import Foundation
import Support
import Tokenization

/// `bertqa bench tokenize`: every question and distinct context of a SQuAD file, one text at a
/// time on one thread and batched on all cores; texts/s and MB/s.
struct BenchTokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenizer throughput on the questions and contexts of a SQuAD file.",
        usage: "bertqa bench tokenize --model <folder-or-hub-id> --data <squad.json>\n[<options>]"
    )

    @OptionGroup var modelOption: ModelOption

    @Option(help: "SQuAD JSON file whose questions and contexts are tokenized.")
    var data: String

    @Option(parsing: .unconditional, help: "Timed passes over the texts (the best is reported).")
    var repeats: Int = 3

    @Flag(help: "Time the general tokenizer pipeline even where a specialised one serves this folder.")
    var general = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let tokenizer = try CLIError.wrap { try Tokenizers.load(directory: modelOption.folder(), general: general) }
        let kind = String(describing: type(of: tokenizer))
        let texts = try CLIError.wrap { try Self.squadTexts(data) }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var tokens = 0
        let single = bestOf(repeats) {
            tokens = 0
            for t in texts { tokens += tokenizer.tokenize(t).count }
        }
        let batched = bestOf(repeats) { _ = tokenizer.tokenizeBatch(texts) }
        let mb = Double(bytes) / 1e6
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if json {
            let report: [(key: String, value: JSONValue)] = [
                ("tokenizer", .string(kind)), ("texts", .int(texts.count)), ("bytes", .int(bytes)), ("tokens", .int(tokens)), ("cores", .int(cores)),
                ("single_thread_texts_per_second", .int(Int(Double(texts.count) / single))),
                ("single_thread_mb_per_second", decimals(mb / single, 3)),
                ("batched_texts_per_second", .int(Int(Double(texts.count) / batched))),
                ("batched_mb_per_second", decimals(mb / batched, 3))]
            print(JSONValue.object(report).compactText)
        } else {
            print("\(kind): \(texts.count) texts, \(String(format: "%.2f", mb)) MB, \(tokens) tokens")
            print(String(format: "one at a time, 1 thread: %8.0f texts/s  %6.2f MB/s  (%.3f s)", Double(texts.count) / single, mb / single, single))
            print(String(format: "batched, %d cores:       %8.0f texts/s  %6.2f MB/s  (%.3f s)", cores, Double(texts.count) / batched, mb / batched, batched))
        }
    }

    /// Questions and distinct contexts, in file order (what the golden encodings file holds).
    static func squadTexts(_ path: String) throws -> [String] {
        try squadParagraphs(path).flatMap { [$0.context] + $0.questions }
    }
}

/// A SQuAD file's paragraphs in file order, each context with its questions; what the
/// benchmarks feed (the full loader's checks are the SQuAD module's business).
func squadParagraphs(_ path: String) throws -> [(context: String, questions: [String])] {
    let root = try CLIError.wrap { try JSONValue.load(contentsOf: URL(fileURLWithPath: path)) }
    guard case .array(let articles)? = root["data"] else {
        throw CLIError(description: "\(path): not a SQuAD file (no \"data\" list)")
    }
    var paragraphs: [(context: String, questions: [String])] = []
    for article in articles {
        guard case .array(let items)? = article["paragraphs"] else { continue }
        for paragraph in items {
            guard case .string(let context)? = paragraph["context"] else { continue }
            var questions: [String] = []
            if case .array(let qas)? = paragraph["qas"] {
                for qa in qas { if case .string(let q)? = qa["question"] { questions.append(q) } }
            }
            paragraphs.append((context, questions))
        }
    }
    return paragraphs
}

/// Best wall time of `n` runs of `body`, in seconds.
func bestOf(_ n: Int, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<n { best = min(best, secondsTaken(body)) }
    return best
}

/// Wall time of one run of `body`, in seconds (the bench verbs' timer).
func secondsTaken(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
