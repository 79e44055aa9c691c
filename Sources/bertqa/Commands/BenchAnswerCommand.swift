import ArgumentParser
import Foundation
import Inference
import Support
import Training

/// `bertqa bench answer`: the QA pipeline on SQuAD dev questions, one question per call (as
/// HF's pipeline runs) against all questions in batched calls.
struct BenchAnswerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answering throughput: one question at a time vs batched.",
        usage: "bertqa bench answer --model <folder-or-hub-id> --data <squad.json>\n[<options>]"
    )

    @OptionGroup var modelOption: ModelOption
    @Option(help: "SQuAD JSON file whose questions are answered.") var data: String
    @Option(parsing: .unconditional, help: "Questions to answer.") var questions = 200
    @Option(parsing: .unconditional, help: "Questions per batched call.") var batchSize = 64
    @Option(parsing: .unconditional, help: "Most windows per forward pass inside a call (QuestionAnswerer.maxWindowsPerForward).") var windowsPerForward: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if questions < 1 || batchSize < 1 { throw ValidationError("--questions and --batch-size must be at least 1") }
    }

    func run() throws {
        let answerer = try CLIError.wrap { try QuestionAnswerer(directory: modelOption.folder()) }
        let jobs = try CLIError.wrap { try Self.jobs(data, limit: questions) }
        if let windowsPerForward { answerer.maxWindowsPerForward = max(1, windowsPerForward) }
        // Warm-up: first-call costs (workspace planning, page faults) are not part of either figure.
        _ = answerer.answer(Array(jobs.prefix(2)))
        let single = bestOf(1) { for job in jobs { _ = answerer.answer([job]) } }
        let batched = bestOf(1) {
            for start in stride(from: 0, to: jobs.count, by: batchSize) {
                _ = answerer.answer(Array(jobs[start ..< min(start + batchSize, jobs.count)]))
            }
        }
        let n = Double(jobs.count)
        if json {
            print("{\"questions\":\(jobs.count),\"one_at_a_time_questions_per_second\":\(String(format: "%.2f", n / single)),"
                + "\"batched_questions_per_second\":\(String(format: "%.2f", n / batched)),\"speedup\":\(String(format: "%.2f", single / batched)),"
                + "\"batch_size\":\(batchSize),\"windows_per_forward\":\(answerer.maxWindowsPerForward),\"peak_rss_mb\":\(Int(peakRSSMegabytes()))}")
        } else {
            print(String(format: "%d questions: one at a time %.2f q/s (%.1f s), batched by %d %.2f q/s (%.1f s): %.2fx",
                         jobs.count, n / single, single, batchSize, n / batched, batched, single / batched))
        }
    }

    static func jobs(_ path: String, limit: Int) throws -> [AnswerJob] {
        let jobs = try squadParagraphs(path).lazy.flatMap { p in p.questions.map { AnswerJob(question: $0, context: p.context) } }
        return Array(jobs.prefix(limit))
    }
}
