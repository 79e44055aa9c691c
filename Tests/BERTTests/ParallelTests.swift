import BERT
import Dispatch
import Foundation
import Kernels
import XCTest

/// `Parallel.forEachChunk` and `forEachShare` on libgomp's team: every chunk runs exactly once,
/// whatever the timing, with regions back to back, nested regions, and callers on several
/// threads at once; and splitting work by the cores' speeds never changes a result's bits.
/// (On a one-core machine the speed-proportional split falls back to one chunk: the bit checks
/// then hold trivially.)
final class ParallelTests: XCTestCase {
    override func tearDown() { Parallel.setWorkerSpeeds(nil) }

    func testSharesCoverEveryUnitOnceInWholeGranules() {
        for speeds in [[1.0, 1.0], [1, 3], [3, 1], [1, 0.25], [4, 1, 2]] {
            Parallel.setWorkerSpeeds(speeds)
            for count in [0, 1, 31, 64, 100, 1000, 6144] {
                var hits = [Int](repeating: 0, count: count)
                let pieces = UnsafeMutablePointer<Int>.allocate(capacity: 2 * Parallel.workers)
                pieces.initialize(repeating: -1, count: 2 * Parallel.workers)
                defer { pieces.deallocate() }
                hits.withUnsafeMutableBufferPointer { h in
                    let p = SendablePointer(h.baseAddress ?? pieces), q = SendablePointer(pieces)
                    Parallel.forEachShare(count, granule: 16, minimum: 16) { worker, range in
                        for i in range { p.pointer[i] += 1 }
                        q.pointer[2 * worker] = range.lowerBound
                        q.pointer[2 * worker + 1] = range.count
                    }
                }
                XCTAssertEqual(hits, [Int](repeating: 1, count: count), "\(speeds) \(count)")
                // When split by speed (count ≥ 2·workers·16), every cut is a multiple of 16 and
                // every piece at least 16 units.
                if Parallel.workers > 1 && count >= 2 * Parallel.workers * 16 {
                    for w in 0..<Parallel.workers {
                        XCTAssertEqual(pieces[2 * w] % 16, 0, "\(speeds) \(count)")
                        XCTAssertGreaterThanOrEqual(pieces[2 * w + 1], 16, "\(speeds) \(count)")
                    }
                }
            }
        }
        Parallel.setWorkerSpeeds([1, 3])
        Parallel.forEachShare(1 << 22, granule: 16, minimum: 16) { _, range in
            var x: Float = 0
            for i in range { x += Float(i & 7) }  // ~1 ms of work a worker: long enough to measure
            XCTAssertGreaterThan(x, 0)
        }
        XCTAssertEqual(Parallel.workerSpeeds.count, Parallel.workers)
        XCTAssertTrue(Parallel.workerSpeeds.allSatisfy { $0 >= 0.25 && $0 <= 4 }, "\(Parallel.workerSpeeds)")
    }

    /// sgemm pieces cut anywhere (rows: multiples of 16, ≥ 16; columns: 16-column blocks) give the
    /// same bits as the equal split, for the row split, the column split and the fused activation.
    func testProductsAreBitIdenticalWhateverTheSplit() {
        var rng = SeededGenerator(seed: 3)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 1000 - 1 } }
        for (rows, inF, outF) in [(300, 96, 48), (1100, 64, 48), (384, 96, 1152), (40, 128, 256)] {
            let x = random(rows * inF), w = random(outF * inF), bias = random(outF)
            func run(_ speeds: [Double]?) -> ([Float], [Float]) {
                Parallel.setWorkerSpeeds(speeds)
                var plain = [Float](repeating: 0, count: rows * outF), act = plain, pre = plain
                matmulForward(out: &plain, inp: x, weight: w, bias: bias, rows: rows, inFeatures: inF, outFeatures: outF)
                matmulActivationForward(pre: &pre, out: &act, inp: x, weight: w, bias: bias,
                                        rows: rows, inFeatures: inF, outFeatures: outF, activation: .gelu)
                return (plain, act)
            }
            let equal = run(nil)
            for speeds in [[1.0, 3.0], [3, 1], [1, 0.3]] {
                let skewed = run(speeds)
                XCTAssertTrue(equal.0 == skewed.0, "matmulForward \(rows)×\(inF)→\(outF) at speeds \(speeds)")
                XCTAssertTrue(equal.1 == skewed.1, "matmulActivationForward \(rows)×\(inF)→\(outF) at speeds \(speeds)")
            }
        }
    }

    /// A whole forward pass (products, attention pairs) split unevenly gives the same logits, bit
    /// for bit, as split evenly.
    func testForwardLogitsDoNotDependOnTheSplit() throws {
        let config = BertConfig(vocabSize: 200, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 512, maxPositionEmbeddings: 160, typeVocabSize: 2)
        let model = try BertForQuestionAnswering(config: config, seed: 4)
        var rng = SeededGenerator(seed: 9)
        let B = 3, T = 128
        let ids = (0..<(B * T)).map { _ in Int32(1 + rng.next() % 199) }
        let mask = (0..<(B * T)).map { Int32($0 % T < [128, 90, 40][$0 / T] ? 1 : 0) }
        let input = try BertBatch(batchSize: B, sequenceLength: T, inputIDs: ids,
                                  tokenTypeIDs: [Int32](repeating: 0, count: B * T), attentionMask: mask)
        Parallel.setWorkerSpeeds(nil)
        let equal = try model.predict(input)
        for speeds in [[1.0, 3.0], [3, 1]] {
            Parallel.setWorkerSpeeds(speeds)
            let skewed = try model.predict(input)
            XCTAssertTrue(equal.startLogits == skewed.startLogits && equal.endLogits == skewed.endLogits, "speeds \(speeds)")
        }
    }

    func testEveryChunkRunsExactlyOnce() {
        var counts = [Int](repeating: 0, count: 64)
        for region in 0..<20_000 {
            let chunks = 1 + region % 8, items = chunks + region % 5
            counts.withUnsafeMutableBufferPointer { c in
                let p = SendablePointer(c.baseAddress!)
                Parallel.forEachChunk(items, chunks: chunks) { _, range in
                    for i in range { p.pointer[i] += 1 }
                }
            }
        }
        var expected = [Int](repeating: 0, count: 64)
        for region in 0..<20_000 { for i in 0..<(1 + region % 8 + region % 5) { expected[i] += 1 } }
        XCTAssertEqual(counts, expected)
    }

    func testNestedAndConcurrentCallersFinish() {
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 16)
        total.initialize(repeating: 0, count: 4 * 16)
        defer { total.deallocate() }
        let p = SendablePointer(total)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<500 {
                Parallel.forEachChunk(4, chunks: 2) { _, outer in
                    for o in outer {
                        // A region inside a region: runs (on the fallback) and finishes.
                        Parallel.forEachChunk(4, chunks: 2) { _, inner in
                            for i in inner { p.pointer[caller * 16 + o * 4 + i] += 1 }
                        }
                    }
                }
            }
        }
        for i in 0..<(4 * 16) { XCTAssertEqual(total[i], 500, "slot \(i)") }
    }
}
