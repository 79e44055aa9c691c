import ArgumentParser
import Foundation
import Support
import Inference

/// The pipeline's options as command-line flags (shared by `answer` and `demo`).
struct AnswerOptionGroup: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Answers to return, best first.")
    var topK: Int = 1

    @Option(name: .long, parsing: .unconditional, help: "Longest answer, in tokens.")
    var maxAnswerLen: Int = 15

    @Option(name: .long, parsing: .unconditional, help: "Tokens per window, special tokens included.")
    var maxSeqLen: Int = 384

    @Option(name: .long, parsing: .unconditional, help: "Tokens of overlap between windows of a long context (default: min(max-seq-len/2, 128)).")
    var docStride: Int?

    @Flag(name: .long, help: "Allow the empty answer when the model finds none.")
    var handleImpossibleAnswer = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Widen answers to whole words.")
    var alignToWords = true

    var options: AnswerOptions {
        AnswerOptions(topK: topK, maxAnswerLength: maxAnswerLen, maxSeqLength: maxSeqLen, docStride: docStride,
                      handleImpossibleAnswer: handleImpossibleAnswer, alignToWords: alignToWords)
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// `bertqa answer`: one question from flags, or JSON lines `{question, context}` on stdin.
struct AnswerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer questions about contexts with a fine-tuned model.",
        discussion: """
        With --question and --context: prints one JSON answer {score, start, end, answer} (a list when
        several). Without them: reads JSON lines {"question": Q, "context": C} on stdin and prints one
        JSON line per input, batching the model work; a bad line gives {"error": "..."}, the other lines
        are still answered, and the run then exits with status 1 and a summary on stderr.
        """
    )

    @Option(help: ArgumentHelp(modelHelp + " A folder holds config.json; model.safetensors, sharded safetensors or pytorch_model.bin; the tokenizer files."))
    var model: String

    @OptionGroup var revisionOption: RevisionOption

    @Option(help: "The question.")
    var question: String?

    @Option(help: "The context to find the answer in.")
    var context: String?

    @Option(parsing: .unconditional, help: "Questions answered per model batch when reading stdin.")
    var batchSize: Int = 32

    @OptionGroup var answerOptions: AnswerOptionGroup

    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        if (question == nil) != (context == nil) {
            throw ValidationError("give both --question and --context, or neither (then JSON lines are read from stdin)")
        }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let answerer = try precisionOption.answerer(revisionOption.folder(model))
        let options = answerOptions.options
        if let question, let context {
            let answers = try CLIError.wrap { try answerer.answer(question: question, context: context, options: options) }
            print(answers.pipelineJSON.compactText)
            return
        }
        var output = BufferedOutput()
        var failures = LineFailures()
        var pending: [(line: Int, job: Result<AnswerJob, CLIError>)] = []
        func flush() {
            let jobs = pending.compactMap { try? $0.job.get() }
            var results = answerer.answer(jobs).makeIterator()
            for item in pending {
                var error: String?
                switch item.job {
                case .failure(let failure): error = failure.description
                case .success:
                    switch results.next()! {
                    case .success(let answers): output.write(answers.pipelineJSON.compactText + "\n")
                    case .failure(let failure): error = "\(failure)"
                    }
                }
                if let error { output.write(errorJSON(error) + "\n") }
                failures.record(line: item.line, error: error)
            }
            output.flush()
            pending.removeAll()
        }
        for (number, text) in InputLines() {
            if case .success(let line) = text, line.allSatisfy(\.isWhitespace) { continue }
            pending.append((number, text.flatMap { Self.parse($0, options) }))
            if pending.count >= batchSize { flush() }
        }
        flush()
        try failures.check()
    }

    static func parse(_ line: String, _ options: AnswerOptions) -> Result<AnswerJob, CLIError> {
        guard let object = try? JSONValue.parse(Data(line.utf8)), case .object = object else {
            return .failure(CLIError(description: "not a JSON object"))
        }
        guard case .string(let question)? = object["question"], case .string(let context)? = object["context"] else {
            return .failure(CLIError(description: "expected {\"question\": string, \"context\": string}"))
        }
        return .success(AnswerJob(question: question, context: context, options: options))
    }
}
