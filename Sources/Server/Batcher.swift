import Foundation
import Inference

/// What became of a request given to the batcher.
enum BatchOutcome: Sendable {
    /// One result per job, in order.
    case answered([Result<[Answer], Error>])
    /// The queue already held `maxQueued` questions: shed at once (503).
    case queueFull
    /// The deadline passed while the request waited; it never reached the model (504).
    case timedOut
}

/// Batches concurrent requests for the model. Requests that arrive while a batch is running
/// wait together and go into the next batch as one call, so under load the model sees big
/// batches and an idle server answers at once. The model runs on its own thread, never on
/// the event loops or Swift's cooperative pool. The wait is bounded twice: at most
/// `maxQueued` questions wait (more are shed at once), and a request still waiting at its
/// deadline is dropped before the model sees it.
final class Batcher: @unchecked Sendable {
    private struct Request {
        var jobs: [AnswerJob]
        var deadline: DispatchTime
        var done: @Sendable (BatchOutcome) -> Void
    }

    private let engine: any QuestionAnswering
    private let maxJobs: Int
    private let maxQueued: Int
    private let timeout: Double
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [Request] = []
    private var queuedJobs = 0
    private var stopped = false
    private let metrics: ServerMetrics

    init(engine: any QuestionAnswering, maxJobs: Int, maxQueued: Int, timeout: Double, metrics: ServerMetrics) {
        self.engine = engine
        self.maxJobs = max(1, maxJobs)
        self.maxQueued = max(1, maxQueued)
        self.timeout = timeout
        self.metrics = metrics
        let thread = Thread { [self] in self.loop() }
        thread.name = "bertqa-model"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Answers `jobs` in the next batch, unless the queue is full or the deadline passes first.
    /// A request larger than the whole queue is taken when nothing else waits.
    func answer(_ jobs: [AnswerJob]) async -> BatchOutcome {
        await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            if stopped {
                continuation.resume(returning: .answered(jobs.map { _ in .failure(InferenceError.model("the server is shutting down")) }))
                return
            }
            if queuedJobs > 0 && queuedJobs + jobs.count > maxQueued {
                continuation.resume(returning: .queueFull)
                return
            }
            let deadline = DispatchTime.now() + timeout
            pending.append(Request(jobs: jobs, deadline: deadline, done: { continuation.resume(returning: $0) }))
            queuedJobs += jobs.count
            condition.signal()
        }
    }

    /// Questions waiting for the model now.
    var queuedQuestions: Int { condition.withLock { queuedJobs } }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped { condition.unlock(); return }
            // Drop what waited past its deadline, then take whole requests until the batch is
            // full (always at least one request).
            let now = DispatchTime.now()
            var expired: [Request] = []
            var batch: [Request] = []
            var count = 0
            while let next = pending.first, batch.isEmpty || count + next.jobs.count <= maxJobs {
                pending.removeFirst()
                queuedJobs -= next.jobs.count
                if next.deadline < now { expired.append(next); continue }
                batch.append(next)
                count += next.jobs.count
            }
            condition.unlock()

            for request in expired { request.done(.timedOut) }
            guard !batch.isEmpty else { continue }
            let jobs = batch.flatMap(\.jobs)
            let results = engine.answer(jobs)
            metrics.recordBatch(jobs: jobs.count)
            var offset = 0
            for request in batch {
                request.done(.answered(Array(results[offset ..< offset + request.jobs.count])))
                offset += request.jobs.count
            }
        }
    }
}
