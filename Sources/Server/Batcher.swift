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

/// Schedules the model's work, window by window, over the requests waiting for it.
///
/// Each pass of the model takes up to `windowsPerPass` windows, dealt one at a time to the
/// waiting requests in turn (oldest first), and a request that still has windows left goes to
/// the back of the line. So under load the model runs full passes, an idle server answers at
/// once, and a long context — hundreds of windows — takes turns with the requests that arrive
/// while it runs instead of making them wait minutes behind it. A pass is padded to its
/// longest window, so it takes windows of similar length only (within 2× of the first in
/// line's): short questions about short contexts run together, not padded to a long context's
/// windows, and wait for at most the pass in flight.
///
/// The model runs on its own thread, never on the event loops or Swift's cooperative pool. The
/// wait is bounded twice: at most `maxQueued` questions wait (more are shed at once), and a
/// request still waiting at its deadline, none of its windows run, is dropped before the model
/// sees it. A request the model has started is finished.
final class Batcher: @unchecked Sendable {
    private final class Request {
        let jobs: [PreparedJob]
        let deadline: DispatchTime
        let done: @Sendable (BatchOutcome) -> Void
        /// Where the request's log line learns the passes it was in.
        let notes: RequestNotes?
        /// The next window to run: job `job`, window `window`.
        var job = 0
        var window = 0
        var started = false

        init(jobs: [PreparedJob], deadline: DispatchTime, notes: RequestNotes?, done: @escaping @Sendable (BatchOutcome) -> Void) {
            self.jobs = jobs
            self.deadline = deadline
            self.notes = notes
            self.done = done
            skipFinishedJobs()
        }

        var isComplete: Bool { job == jobs.count }

        /// The tokens of the next window; nil when none is left.
        var nextLength: Int? { isComplete ? nil : jobs[job].windowLengths[window] }

        /// Takes the next window; nil when none is left.
        func nextWindow() -> (PreparedJob, Int)? {
            guard !isComplete else { return nil }
            let taken = (jobs[job], window)
            window += 1
            skipFinishedJobs()
            return taken
        }

        /// Moves past jobs with no windows left to run (a job that failed has none: a pass that
        /// failed does not bring its other windows back).
        func skipFinishedJobs() {
            while job < jobs.count && (window >= jobs[job].windowCount || jobs[job].failure != nil) {
                job += 1
                window = 0
            }
        }
    }

    private let engine: any QuestionAnswering
    private let windowsPerPass: Int
    private let maxQueued: Int
    private let timeout: Double
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [Request] = []
    private var queuedJobs = 0
    private var stopped = false
    private let metrics: ServerMetrics

    init(engine: any QuestionAnswering, windowsPerPass: Int, maxQueued: Int, timeout: Double, metrics: ServerMetrics) {
        self.engine = engine
        self.windowsPerPass = max(1, windowsPerPass)
        self.maxQueued = max(1, maxQueued)
        self.timeout = timeout
        self.metrics = metrics
        let thread = Thread { [self] in self.loop() }
        thread.name = "bertqa-model"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Answers `jobs` (prepared: cut into windows), unless the queue is full or the deadline
    /// passes before the model reaches them. A request larger than the whole queue is taken
    /// when nothing else waits.
    func answer(_ jobs: [PreparedJob]) async -> BatchOutcome {
        await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            if stopped {
                continuation.resume(returning: .answered(jobs.map { _ in .failure(InferenceError.model("the server is shutting down")) }))
                return
            }
            if overflows(adding: jobs.count) {
                continuation.resume(returning: .queueFull)
                return
            }
            let request = Request(jobs: jobs, deadline: DispatchTime.now() + timeout, notes: RequestNotes.current,
                                  done: { continuation.resume(returning: $0) })
            if request.isComplete {
                // Nothing for the model (every job failed in preparation): answered at once.
                continuation.resume(returning: .answered(jobs.map(engine.result)))
                return
            }
            pending.append(request)
            queuedJobs += jobs.count
            condition.signal()
        }
    }

    /// Whether a request of `questions` would be shed now (`answer` decides again when it comes).
    func isFull(adding questions: Int) -> Bool {
        condition.withLock { overflows(adding: questions) }
    }

    /// With the lock held: whether `questions` more would pass `maxQueued` (one request is
    /// always taken when nothing waits, however large).
    private func overflows(adding questions: Int) -> Bool {
        queuedJobs > 0 && queuedJobs + questions > maxQueued
    }

    /// Questions waiting for the model now (of requests with windows not yet in a pass).
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
            let (expired, pass, passRequests) = takePass()
            condition.unlock()

            for request in expired { request.done(.timedOut) }
            guard !pass.isEmpty else { continue }
            do {
                try engine.run(pass)
            } catch {
                condition.withLock {
                    for slice in pass { slice.job.fail(InferenceError.model("\(error)")) }
                    for request in passRequests where !request.isComplete { request.skipFinishedJobs() }
                }
            }
            let windows = pass.reduce(0) { $0 + $1.windows.count }
            metrics.recordPass(windows: windows, requests: passRequests.count)
            for request in passRequests { request.notes?.pass(windows: windows) }

            condition.withLock { requeue(passRequests) }
            for request in passRequests where request.isComplete { request.done(.answered(request.jobs.map(engine.result))) }
        }
    }

    /// With the lock held: drops the requests whose deadline passed before any of their windows
    /// ran, then deals the next pass's windows to the others in turn, in line order.
    private func takePass() -> (expired: [Request], pass: [WindowSlice], requests: [Request]) {
        let now = DispatchTime.now()
        let expired = pending.filter { !$0.started && $0.deadline < now }
        if !expired.isEmpty {
            pending.removeAll { !$0.started && $0.deadline < now }
            queuedJobs -= expired.reduce(0) { $0 + $1.jobs.count }
        }
        var taken: [(request: Int, job: PreparedJob, window: Int)] = []
        var dealt = Set<Int>()
        guard let reference = pending.first?.nextLength else { return (expired, [], []) }
        let similar = (reference + 1) / 2 ... max(1, reference) * 2
        dealing: while taken.count < windowsPerPass {
            var any = false
            for (r, request) in pending.enumerated() {
                guard let length = request.nextLength, similar.contains(length),
                      let (job, window) = request.nextWindow() else { continue }
                any = true
                request.started = true
                dealt.insert(r)
                taken.append((r, job, window))
                if taken.count == windowsPerPass { break dealing }
            }
            if !any { break }
        }
        // Consecutive windows of one job become one slice.
        var pass: [WindowSlice] = []
        for (_, job, window) in dealt.sorted().flatMap({ r in taken.filter { $0.request == r } }) {
            if let last = pass.last, last.job === job, last.windows.upperBound == window {
                pass[pass.count - 1] = WindowSlice(job: job, windows: last.windows.lowerBound ..< window + 1)
            } else {
                pass.append(WindowSlice(job: job, windows: window ..< window + 1))
            }
        }
        let requests = dealt.sorted().map { pending[$0] }
        // A request whose last window is in this pass no longer waits: it leaves the line.
        queuedJobs -= requests.filter(\.isComplete).reduce(0) { $0 + $1.jobs.count }
        pending.removeAll(where: \.isComplete)
        return (expired, pass, requests)
    }

    /// With the lock held, after a pass: its requests that still have windows go to the back of
    /// the line, behind the ones that arrived while it ran; one whose remaining windows a failed
    /// pass dropped leaves the line (it no longer waits).
    private func requeue(_ served: [Request]) {
        let inLine = served.filter { request in pending.contains { $0 === request } }
        pending.removeAll { request in inLine.contains { $0 === request } }
        for request in inLine {
            if request.isComplete { queuedJobs -= request.jobs.count } else { pending.append(request) }
        }
    }
}
