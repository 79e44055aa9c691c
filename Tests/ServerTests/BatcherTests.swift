import Foundation
import Inference
@testable import Server
import XCTest

/// The server's queue: bounded (shed at once beyond it) and with a deadline (a request that
/// waited too long never reaches the model). Driven by an engine that holds the model thread
/// until told, so every case is deterministic.
final class BatcherTests: XCTestCase {
    /// An engine whose passes wait until the test opens the gate. A job's context is its
    /// number of windows; every pass is recorded as "question:window" names.
    final class GateEngine: QuestionAnswering, @unchecked Sendable {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var seen: [[String]] = []
        var passes: [[String]] { lock.withLock { seen } }
        var questions: [String] { passes.flatMap { $0.map { String($0.prefix { $0 != ":" }) } } }

        func prepare(_ job: AnswerJob) -> PreparedJob { PreparedJob(job: job, windowCount: Int(job.context) ?? 1) }

        /// Passes holding a window of this question fail.
        var failing = ""

        func run(_ slices: [WindowSlice]) throws {
            lock.withLock { seen.append(slices.flatMap { s in s.windows.map { "\(s.job.job.question):\($0)" } }) }
            entered.signal()
            gate.wait()
            if slices.contains(where: { $0.job.job.question == failing }) { throw InferenceError.model("out of memory") }
            for slice in slices { for w in slice.windows { slice.job.setLogits(([0], [0]), window: w) } }
        }

        func finish(_ job: PreparedJob) -> [Answer] {
            [Answer(score: 1, start: 0, end: job.logits.count, answer: job.job.question)]
        }
    }

    static func job(_ question: String, windows: Int = 1, length: Int = 1) -> PreparedJob {
        PreparedJob(job: AnswerJob(question: question, context: "\(windows)"), windowCount: windows,
                    windowLengths: Array(repeating: length, count: windows))
    }

    func testAFullQueueShedsAndAnExpiredRequestNeverReachesTheModel() async throws {
        let engine = GateEngine()
        let batcher = Batcher(engine: engine, windowsPerPass: 1, maxQueued: 1, timeout: 0.2, metrics: ServerMetrics())
        defer { batcher.stop(); engine.gate.signal() }
        // A runs on the model thread and holds it.
        let jobA = Self.job("A")
        let first = Task { await batcher.answer([jobA]) }
        engine.entered.wait()
        // B waits in the queue, which is then full.
        let jobB = Self.job("B")
        let second = Task { await batcher.answer([jobB]) }
        while batcher.queuedQuestions < 1 { try await Task.sleep(nanoseconds: 1_000_000) }
        guard case .queueFull = await batcher.answer([Self.job("C")]) else { return XCTFail("C was not shed") }
        // B's deadline passes while A still runs; then A finishes.
        try await Task.sleep(nanoseconds: 300_000_000)
        engine.gate.signal()
        guard case .answered(let results) = await first.value else { return XCTFail("A was not answered") }
        XCTAssertEqual(try results[0].get().first?.answer, "A")
        guard case .timedOut = await second.value else { return XCTFail("B did not time out") }
        XCTAssertEqual(engine.questions, ["A"])
        // The queue is free again: D is answered.
        let jobD = Self.job("D")
        let fourth = Task { await batcher.answer([jobD]) }
        engine.entered.wait()
        engine.gate.signal()
        guard case .answered = await fourth.value else { return XCTFail("D was not answered") }
        XCTAssertEqual(engine.questions, ["A", "D"])
    }

    /// A long request does not starve a short one: the short one's window leads the next pass
    /// (a request served goes behind those that arrived meanwhile), and it is answered while
    /// the long one still has most of its windows to run.
    func testAShortRequestSharesTheNextPassWithALongOne() async throws {
        let engine = GateEngine()
        let batcher = Batcher(engine: engine, windowsPerPass: 2, maxQueued: 100, timeout: 60, metrics: ServerMetrics())
        defer { batcher.stop(); for _ in 0 ..< 20 { engine.gate.signal() } }
        // L: two questions of 5 and 3 windows; its first pass holds the model.
        let longJobs = [Self.job("L", windows: 5), Self.job("M", windows: 3)]
        let long = Task { await batcher.answer(longJobs) }
        engine.entered.wait()
        let shortJobs = [Self.job("S")]
        let short = Task { await batcher.answer(shortJobs) }
        while batcher.queuedQuestions < 3 { try await Task.sleep(nanoseconds: 1_000_000) }
        engine.gate.signal()
        engine.entered.wait()
        engine.gate.signal()
        guard case .answered(let shortResults) = await short.value else { return XCTFail("S was not answered") }
        XCTAssertEqual(try shortResults[0].get().first?.answer, "S")
        XCTAssertEqual(Array(engine.passes.prefix(2)), [["L:0", "L:1"], ["S:0", "L:2"]], "S waited behind L")
        // L goes on alone, its questions' windows in order, two per pass.
        for _ in 0 ..< 3 { engine.entered.wait(); engine.gate.signal() }
        guard case .answered(let longResults) = await long.value else { return XCTFail("L was not answered") }
        XCTAssertEqual(try longResults.map { try $0.get().first?.answer }, ["L", "M"])
        XCTAssertEqual(try longResults.map { try $0.get().first?.end }, [5, 3])
        XCTAssertEqual(engine.passes.dropFirst(2).map { $0 }, [["L:3", "L:4"], ["M:0", "M:1"], ["M:2"]])
    }

    /// A pass is padded to its longest window, so windows of very different lengths go to
    /// different passes: the short request runs alone, right after the pass in flight.
    func testPassesGroupWindowsOfSimilarLength() async throws {
        let engine = GateEngine()
        let batcher = Batcher(engine: engine, windowsPerPass: 2, maxQueued: 100, timeout: 60, metrics: ServerMetrics())
        defer { batcher.stop(); for _ in 0 ..< 20 { engine.gate.signal() } }
        let longJobs = [Self.job("L", windows: 4, length: 384)]
        let long = Task { await batcher.answer(longJobs) }
        engine.entered.wait()
        let shortJobs = [Self.job("S", length: 30)], closeJobs = [Self.job("C", length: 250)]
        let short = Task { await batcher.answer(shortJobs) }
        while batcher.queuedQuestions < 2 { try await Task.sleep(nanoseconds: 1_000_000) }
        let close = Task { await batcher.answer(closeJobs) }
        while batcher.queuedQuestions < 3 { try await Task.sleep(nanoseconds: 1_000_000) }
        for _ in 0 ..< 3 { engine.gate.signal(); engine.entered.wait() }
        engine.gate.signal()
        for outcome in [await long.value, await short.value, await close.value] {
            guard case .answered = outcome else { return XCTFail("not answered") }
        }
        // S (30 tokens) never shares a pass with 384-token windows; C (250) does.
        XCTAssertEqual(engine.passes, [["L:0", "L:1"], ["S:0"], ["C:0", "L:2"], ["L:3"]])
    }

    /// A pass that fails fails its jobs: their other windows are not run, their requests are
    /// answered with the error, and the server goes on.
    func testAFailedPassFailsItsJobsOnly() async throws {
        let engine = GateEngine()
        engine.failing = "F"
        let batcher = Batcher(engine: engine, windowsPerPass: 2, maxQueued: 100, timeout: 60, metrics: ServerMetrics())
        defer { batcher.stop(); for _ in 0 ..< 20 { engine.gate.signal() } }
        let failingJobs = [Self.job("F", windows: 5), Self.job("G")]
        let failing = Task { await batcher.answer(failingJobs) }
        engine.entered.wait()
        engine.gate.signal()
        engine.entered.wait()
        engine.gate.signal()
        guard case .answered(let results) = await failing.value else { return XCTFail("not answered") }
        XCTAssertThrowsError(try results[0].get())
        XCTAssertEqual(try results[1].get().first?.answer, "G")
        XCTAssertEqual(engine.passes, [["F:0", "F:1"], ["G:0"]], "F's other windows ran")
        XCTAssertEqual(batcher.queuedQuestions, 0)
        let nextJobs = [Self.job("N")]
        let next = Task { await batcher.answer(nextJobs) }
        engine.entered.wait()
        engine.gate.signal()
        guard case .answered(let after) = await next.value else { return XCTFail("not answered") }
        XCTAssertEqual(try after[0].get().first?.answer, "N")
    }

    /// A job that failed in preparation has no windows: its request is answered with the
    /// failure at once, beside its other jobs' answers.
    func testFailedJobsAreAnsweredWithoutTheModel() async throws {
        let engine = GateEngine()
        let batcher = Batcher(engine: engine, windowsPerPass: 4, maxQueued: 100, timeout: 60, metrics: ServerMetrics())
        defer { batcher.stop() }
        let bad = PreparedJob(job: AnswerJob(question: "X", context: ""), failure: InferenceError.emptyContext)
        guard case .answered(let alone) = await batcher.answer([bad]) else { return XCTFail("not answered") }
        XCTAssertThrowsError(try alone[0].get())
        XCTAssertEqual(engine.passes.count, 0)
        let mixedJobs = [bad, Self.job("G")]
        let mixed = Task { await batcher.answer(mixedJobs) }
        engine.entered.wait()
        engine.gate.signal()
        guard case .answered(let results) = await mixed.value else { return XCTFail("not answered") }
        XCTAssertThrowsError(try results[0].get())
        XCTAssertEqual(try results[1].get().first?.answer, "G")
    }

    func testAPIKeysCompareWholeKeys() {
        let keys = APIKeys(["s3cret", "other-key"])
        XCTAssertTrue(keys.accepts(Array("s3cret".utf8)))
        XCTAssertTrue(keys.accepts(Array("other-key".utf8)))
        for wrong in ["", "s3cre", "s3crets", "S3cret", "other-key ", "s3cret\0"] {
            XCTAssertFalse(keys.accepts(Array(wrong.utf8)), wrong)
        }
        XCTAssertTrue(APIKeys([]).isEmpty)
    }
}
