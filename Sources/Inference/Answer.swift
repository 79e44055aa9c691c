import Support

/// One answer span, as Hugging Face's question-answering pipeline returns it.
public struct Answer: Codable, Equatable, Sendable {
    /// Probability-like score: start probability × end probability within a window
    /// (summed when several windows give the same text).
    public var score: Double
    /// Character offsets into the context (Unicode scalars, as Python counts them).
    public var start: Int
    public var end: Int
    public var answer: String

    public init(score: Double, start: Int, end: Int, answer: String) {
        self.score = score
        self.start = start
        self.end = end
        self.answer = answer
    }
}

/// Options of `QuestionAnswerer.answer`, with the pipeline's names and defaults.
public struct AnswerOptions: Sendable, Equatable {
    /// How many answers to return, best first.
    public var topK = 1
    /// Longest answer, in tokens.
    public var maxAnswerLength = 15
    /// Tokens per window, special tokens included.
    public var maxSeqLength = 384
    /// Tokens of overlap between windows of a long context; nil means HF's default,
    /// min(maxSeqLength / 2, 128). Lowered automatically when the window leaves less room
    /// (HF would fail instead).
    public var docStride: Int? = nil
    /// Also consider "no answer" ([CLS] × [CLS]) and return it as an empty answer when best.
    public var handleImpossibleAnswer = false
    /// Widen spans to whole words of the context.
    public var alignToWords = true

    public init(topK: Int = 1, maxAnswerLength: Int = 15, maxSeqLength: Int = 384, docStride: Int? = nil,
                handleImpossibleAnswer: Bool = false, alignToWords: Bool = true) {
        self.topK = topK
        self.maxAnswerLength = maxAnswerLength
        self.maxSeqLength = maxSeqLength
        self.docStride = docStride
        self.handleImpossibleAnswer = handleImpossibleAnswer
        self.alignToWords = alignToWords
    }

    /// Throws `InferenceError.invalidOption` for values HF rejects or that cannot work.
    public func validate() throws {
        if topK < 1 { throw InferenceError.invalidOption("top_k must be at least 1, got \(topK)") }
        if maxAnswerLength < 1 { throw InferenceError.invalidOption("max_answer_len must be at least 1, got \(maxAnswerLength)") }
        if maxSeqLength < 4 { throw InferenceError.invalidOption("max_seq_len must be at least 4, got \(maxSeqLength)") }
        if let docStride, docStride < 0 { throw InferenceError.invalidOption("doc_stride must not be negative, got \(docStride)") }
        if let docStride, docStride > maxSeqLength {
            throw InferenceError.invalidOption("doc_stride \(docStride) is larger than max_seq_len \(maxSeqLength)")
        }
    }
}

/// Errors of the answering pipeline; each says what is wrong in one line.
public enum InferenceError: Error, Equatable, CustomStringConvertible, Sendable {
    case emptyQuestion
    case emptyContext
    case invalidOption(String)
    case model(String)

    public var description: String {
        switch self {
        case .emptyQuestion: return "the question is empty"
        case .emptyContext: return "the context is empty"
        case .invalidOption(let message): return "invalid option: \(message)"
        case .model(let message): return message
        }
    }
}

extension Answer {
    /// The pipeline's dict, in its key order: `{"score", "start", "end", "answer"}`.
    public var json: JSONValue {
        .object([("score", .double(score)), ("start", .int(start)), ("end", .int(end)), ("answer", .string(answer))])
    }
}

extension [Answer] {
    /// What `pipeline("question-answering")` returns: a bare object for one answer, a list
    /// otherwise. The CLI and the server both print this.
    public var pipelineJSON: JSONValue {
        count == 1 ? self[0].json : .array(map(\.json))
    }
}
