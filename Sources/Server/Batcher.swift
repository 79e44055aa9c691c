import Foundation
import Inference

/// Batches concurrent requests for the model. Requests that arrive while a batch is running
/// wait together and go into the next batch as one call, so under load the model sees big
/// batches and an idle server answers at once. The model runs on its own thread, never on
/// the event loops or Swift's cooperative pool.
final class Batcher: @unchecked Sendable {
    private let engine: any QuestionAnswering
    private let maxJobs: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [(jobs: [AnswerJob], done: @Sendable ([Result<[Answer], Error>]) -> Void)] = []
    private var stopped = false
    private let metrics: ServerMetrics

    init(engine: any QuestionAnswering, maxJobs: Int, metrics: ServerMetrics) {
        self.engine = engine
        self.maxJobs = max(1, maxJobs)
        self.metrics = metrics
        let thread = Thread { [self] in self.loop() }
        thread.name = "bertqa-model"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Answers `jobs` in the next batch.
    func answer(_ jobs: [AnswerJob]) async -> [Result<[Answer], Error>] {
        await withCheckedContinuation { continuation in
            condition.lock()
            if stopped {
                condition.unlock()
                continuation.resume(returning: jobs.map { _ in .failure(InferenceError.model("the server is shutting down")) })
                return
            }
            pending.append((jobs, { continuation.resume(returning: $0) }))
            condition.signal()
            condition.unlock()
        }
    }

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
            // Take whole requests until the batch is full (always at least one request).
            var batch: [(jobs: [AnswerJob], done: @Sendable ([Result<[Answer], Error>]) -> Void)] = []
            var count = 0
            while let next = pending.first, batch.isEmpty || count + next.jobs.count <= maxJobs {
                batch.append(pending.removeFirst())
                count += next.jobs.count
            }
            condition.unlock()

            let jobs = batch.flatMap(\.jobs)
            let results = engine.answer(jobs)
            metrics.recordBatch(jobs: jobs.count)
            var offset = 0
            for request in batch {
                request.done(Array(results[offset ..< offset + request.jobs.count]))
                offset += request.jobs.count
            }
        }
    }
}
