import Foundation
import Inference
@testable import Server
import XCTest

/// The server's queue: bounded (shed at once beyond it) and with a deadline (a request that
/// waited too long never reaches the model). Driven by an engine that holds the model thread
/// until told, so every case is deterministic.
final class BatcherTests: XCTestCase {
    final class GateEngine: QuestionAnswering, @unchecked Sendable {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var seen: [String] = []
        var questions: [String] { lock.withLock { seen } }

        func answer(_ jobs: [AnswerJob]) -> [Result<[Answer], Error>] {
            lock.withLock { seen += jobs.map(\.question) }
            entered.signal()
            gate.wait()
            return jobs.map { job in .success([Answer(score: 1, start: 0, end: 1, answer: job.question)]) }
        }
    }

    static func job(_ question: String) -> AnswerJob { AnswerJob(question: question, context: "c") }

    func testAFullQueueShedsAndAnExpiredRequestNeverReachesTheModel() async throws {
        let engine = GateEngine()
        let batcher = Batcher(engine: engine, maxJobs: 1, maxQueued: 1, timeout: 0.2, metrics: ServerMetrics())
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
