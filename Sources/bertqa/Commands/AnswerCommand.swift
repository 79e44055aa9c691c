import ArgumentParser
import Foundation
import Support
import Inference

/// The pipeline's options as command-line flags (shared by `answer` and `demo`).
struct AnswerOptionGroup: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Answers to return, best first.")
    var topK: Int = 1

    @Option(name: OptionNames.maxAnswerLen, parsing: .unconditional, help: "Longest answer, in tokens.")
    var maxAnswerLen: Int = 15

    @Option(name: OptionNames.maxSeqLen, parsing: .unconditional, help: "Tokens per window, special tokens included.")
    var maxSeqLen: Int = 384

    @Option(name: OptionNames.docStride, parsing: .unconditional,
            help: "Tokens of overlap between windows of a long context (default: min(max-seq-len/2, 128)).")
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

/// `bertqa answer`: one question from flags, or JSON lines on stdin answered as they arrive.
struct AnswerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer questions about contexts with a fine-tuned model.",
        usage: "bertqa answer --model <folder-or-hub-id> [--question <q> --context <c>]\n[<options>]",
        discussion: """
        With --question and --context (or --context-file): prints one JSON answer {score, start, \
        end, answer}, or a list with --top-k above 1.

        Without them: reads JSON lines on stdin and prints one line per input line, in order, as \
        soon as it is answered. A line is {"question": Q, "context": C} with an optional "id" \
        (echoed in the answer) and the pipeline's parameters (top_k, doc_stride, max_answer_len, \
        max_seq_len, handle_impossible_answer, align_to_words), or the Hugging Face Inference API's \
        {"inputs": {...} or [...], "parameters": {...}}, as `serve` takes it. The flags give the \
        defaults. A blank line gives null; a bad line gives {"error": "..."}, the other lines are \
        still answered, and the run exits with status 1 and a summary on stderr.
        """
    )

    @OptionGroup var modelOption: ModelOption

    @Option(help: "The question.")
    var question: String?

    @Option(help: "The context to find the answer in.")
    var context: String?

    @Option(help: "A UTF-8 text file holding the context (for contexts too long for the command line).")
    var contextFile: String?

    @Option(parsing: .unconditional, help: "Windows per forward pass (4–8 ran fastest on 2 cores).")
    var batchSize: Int = 8

    @OptionGroup var answerOptions: AnswerOptionGroup

    @OptionGroup var precisionOption: PrecisionOption

    @OptionGroup var verbosity: VerbosityOptions

    /// Most questions gathered from stdin into one batched call: enough to fill the forward
    /// passes, few enough that early lines are printed soon.
    static let questionsPerCall = 64

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    /// Which of --question, --context and --context-file go together: checked once parsing is
    /// done, so that a misspelt option (`--qustion`) is reported as such, not as a missing one.
    func checkInputOptions() throws {
        if context != nil && contextFile != nil { throw ValidationError("give --context or --context-file, not both") }
        let hasContext = context != nil || contextFile != nil
        if question != nil && !hasContext {
            throw ValidationError("--question needs --context or --context-file")
        }
        if question == nil && hasContext {
            throw ValidationError("--context and --context-file need --question (without all of them, JSON lines are read from stdin)")
        }
    }

    func run() throws {
        try checkInputOptions()
        verbosity.apply()
        let contextText = try contextFile.map(Self.readContext) ?? context
        let answerer = try precisionOption.answerer(modelOption.folder())
        answerer.maxWindowsPerForward = batchSize
        let defaults = answerOptions.options
        if let question, let contextText {
            let answers = try CLIError.wrap { try answerer.answer(question: question, context: contextText, options: defaults) }
            print(answers.pipelineJSON.compactText)
            return
        }
        if isatty(0) == 1 {
            Console.say("reading JSON lines on stdin, e.g. {\"question\": \"Who …?\", \"context\": \"…\"}; Ctrl-D ends")
        }
        var output = BufferedOutput()
        var failures = LineFailures()
        // Lines read but not yet answered; nil: a blank line.
        var pending: [(line: Int, request: Result<AnswerRequest, AnswerRequestError>?)] = []
        func flush() {
            let jobs = pending.flatMap { (try? $0.request?.get())?.items.map(\.job) ?? [] }
            var results = answerer.answer(jobs).makeIterator()
            for (line, request) in pending {
                switch request {
                case nil:
                    output.write("null\n")
                    failures.record(line: line, error: nil)
                case .failure(let failure)?:
                    output.write(AnswerRequest.errorJSON(failure.description, id: failure.id).compactText + "\n")
                    failures.record(line: line, error: failure.description)
                case .success(let request)?:
                    var firstError: String?
                    let outputs = request.items.map { item -> JSONValue in
                        switch results.next()! {
                        case .success(let answers): return AnswerRequest.json(answers, id: item.id)
                        case .failure(let failure):
                            firstError = firstError ?? "\(failure)"
                            return AnswerRequest.errorJSON("\(failure)", id: item.id)
                        }
                    }
                    output.write((request.isBatch ? JSONValue.array(outputs) : outputs[0]).compactText + "\n")
                    failures.record(line: line, error: firstError)
                }
            }
            output.flush()
            pending.removeAll()
        }
        let started = Date()
        var lines = InputLines()
        while let (number, text) = lines.next() {
            switch text {
            case .success(let line) where line.allSatisfy(\.isWhitespace): pending.append((number, nil))
            case .success(let line): pending.append((number, Result { try AnswerRequest.parse(Data(line.utf8), defaults: defaults) }
                .mapError { $0 as? AnswerRequestError ?? AnswerRequestError("\($0)") }))
            case .failure(let error): pending.append((number, .failure(AnswerRequestError(error.description))))
            }
            // Answer what has arrived when no further line is waiting: a line typed or piped
            // alone is answered at once, a file goes through in full batches.
            if pending.count >= Self.questionsPerCall || !lines.lineReady() { flush() }
        }
        flush()
        Console.detail(String(format: "answered %d line%@ in %.2f s", failures.total, failures.total == 1 ? "" : "s", Date().timeIntervalSince(started)))
        try failures.check()
    }

    static func readContext(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            throw CLIError(description: exists && isFolder.boolValue ? "--context-file \(path) is a folder: give a text file"
                           : exists ? "--context-file \(path) cannot be read (permissions?)" : "--context-file \(path) does not exist")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CLIError(description: "--context-file \(path) is not UTF-8 text")
        }
        return text
    }
}
