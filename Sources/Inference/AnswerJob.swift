import Foundation
import Tokenization

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

/// Anything that answers jobs: the real `QuestionAnswerer`, or a test double. Answering runs in
/// three stages, so that a caller can schedule the model's work window by window (the server
/// interleaves one long context's windows with other requests' instead of making them wait):
/// 1. `prepare`: text → tokens → windows (no model work; a bad job fails here, alone);
/// 2. `run`: windows → logits, any mix of jobs' windows in one pass, in any number of passes;
/// 3. `finish`: logits → spans → answers, once every window of the job has run.
public protocol QuestionAnswering: Sendable {
    func prepare(_ job: AnswerJob) -> PreparedJob
    /// Computes the logits of these windows (each job's `logits` filled for them).
    func run(_ slices: [WindowSlice]) throws
    /// The answers of a job whose windows have all run (called only then, and only without a
    /// `failure`).
    func finish(_ job: PreparedJob) -> [Answer]
}

extension QuestionAnswering {
    /// Answers for many jobs in one batched pass; one result per job, in order.
    public func answer(_ jobs: [AnswerJob]) -> [Result<[Answer], Error>] {
        let prepared = jobs.map(prepare)
        let slices = prepared.filter { $0.failure == nil && $0.windowCount > 0 }.map { WindowSlice(job: $0, windows: 0 ..< $0.windowCount) }
        do {
            try run(slices)
        } catch {
            for slice in slices { slice.job.fail(InferenceError.model("\(error)")) }
        }
        return prepared.map(result)
    }

    /// The job's outcome once its windows have run: its failure, or its answers.
    public func result(_ job: PreparedJob) -> Result<[Answer], Error> {
        if let failure = job.failure { return .failure(failure) }
        return .success(finish(job))
    }
}

/// Start and end logits of one window, over its unpadded tokens.
public typealias WindowLogits = (start: [Float], end: [Float])

/// One job on its way through the model: cut into windows once, its windows' logits filled as
/// passes reach them (possibly over several passes, between other jobs' windows), then
/// assembled into answers.
///
/// Not locked: one thread at a time works on a job (whoever prepared it, then the model's
/// thread for `run` and `finish`), and each hand-over goes through a lock or a queue.
public final class PreparedJob: @unchecked Sendable {
    public let job: AnswerJob
    /// The tokenizer's windows (empty for engines that cut none of their own).
    let windows: [Encoding]
    /// Tokens in each window (a pass is padded to its longest window, so passes group windows
    /// of similar length).
    public let windowLengths: [Int]
    public var windowCount: Int { windowLengths.count }
    /// Why the job has no answers: its text or options (found by `prepare`), or the model.
    public private(set) var failure: Error?
    /// Per window, once `run` has computed it.
    public internal(set) var logits: [WindowLogits?]

    init(job: AnswerJob, windows: [Encoding]) {
        self.job = job
        self.windows = windows
        self.windowLengths = windows.map(\.count)
        self.logits = Array(repeating: nil, count: windows.count)
    }

    /// A job of `windowCount` windows that an engine tracks itself (a test double's), of
    /// `windowLengths` tokens each (all alike when not given).
    public init(job: AnswerJob, windowCount: Int, windowLengths: [Int]? = nil) {
        self.job = job
        self.windows = []
        self.windowLengths = windowLengths ?? Array(repeating: 1, count: windowCount)
        self.logits = Array(repeating: nil, count: self.windowLengths.count)
    }

    /// A job that cannot be answered; it has no windows.
    public init(job: AnswerJob, failure: Error) {
        self.job = job
        self.windows = []
        self.windowLengths = []
        self.logits = []
        self.failure = failure
    }

    public func fail(_ error: Error) {
        if failure == nil { failure = error }
    }

    /// Records a window's logits (engines other than `QuestionAnswerer`).
    public func setLogits(_ logits: WindowLogits, window: Int) { self.logits[window] = logits }
}

/// Some consecutive windows of one job, to run in a pass.
public struct WindowSlice: Sendable {
    public let job: PreparedJob
    public let windows: Range<Int>

    public init(job: PreparedJob, windows: Range<Int>) {
        self.job = job
        self.windows = windows
    }
}
