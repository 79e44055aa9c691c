/// One question about one context, with its options: the unit of batched answering.
public struct AnswerJob: Sendable, Equatable {
    public var question: String
    public var context: String
    public var options: AnswerOptions

    public init(question: String, context: String, options: AnswerOptions = AnswerOptions()) {
        self.question = question
        self.context = context
        self.options = options
    }
}

/// Anything that answers batches of jobs: the real `QuestionAnswerer`, or a test double.
/// One result per job, in order; a bad job fails alone.
public protocol QuestionAnswering: Sendable {
    func answer(_ jobs: [AnswerJob]) -> [Result<[Answer], Error>]

    /// The windows each job's context is cut into (tokenizing only, no model work): what a job
    /// costs, to cap a request before it queues. A job that cannot be windowed counts 0 (its
    /// answer carries the error).
    func windowCount(_ job: AnswerJob) -> Int
}

extension QuestionAnswering {
    /// A stand-in that knows no tokenizer: every job one window.
    public func windowCount(_ job: AnswerJob) -> Int { 1 }
}
