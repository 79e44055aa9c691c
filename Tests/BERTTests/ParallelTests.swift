import Dispatch
import Foundation
import Kernels
import XCTest

/// `Parallel.forEachChunk` on the spinning pool: every chunk runs exactly once, whatever the
/// timing, with regions back to back, nested regions, and callers on several threads at once
/// (those fall back to concurrentPerform while the pool is busy).
final class ParallelTests: XCTestCase {
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
