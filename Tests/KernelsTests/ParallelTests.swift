import Dispatch
import Foundation
import Kernels
import TestSupport
import XCTest

/// `Parallel.forEachChunk` and `forEachTile` on libgomp's team: every chunk and tile runs exactly
/// once, whatever the timing, with regions back to back, nested regions, and callers on several
/// threads at once; and which worker runs which tile never changes a result's bits.
/// (On a one-core machine there is one worker: the bit checks then hold trivially.)
final class ParallelTests: XCTestCase {
    func testEveryTileRunsOnceOnAWorkerSlot() {
        for tiles in [0, 1, 2, 3, 7, 64, 1000] {
            var hits = [Int](repeating: 0, count: tiles)
            var slots = [Int](repeating: -1, count: tiles)
            hits.withUnsafeMutableBufferPointer { h in
                slots.withUnsafeMutableBufferPointer { s in
                    guard let hp = h.baseAddress, let sp = s.baseAddress else { return }
                    let hit = SendablePointer(hp), slot = SendablePointer(sp)
                    Parallel.forEachTile(tiles) { worker, tile in
                        hit.pointer[tile] += 1
                        slot.pointer[tile] = worker
                    }
                }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: tiles), "\(tiles) tiles")
            XCTAssertTrue(slots.allSatisfy { (0..<Parallel.workers).contains($0) }, "\(slots)")
        }
    }

    /// The tiles of a product cover each output once, cut at multiples of 16, and depend on the
    /// shape and worker count only.
    func testLinearTilesCoverTheProductOnce() {
        for (rows, inF, outF) in [(300, 96, 48), (1100, 64, 48), (384, 96, 1152), (40, 128, 256), (6144, 384, 1536),
                                  (1, 384, 2), (5, 4, 3), (0, 8, 8)] {
            for workers in [1, 2, 3, 16] {
                let tiles = LinearTiles(rows: rows, inFeatures: inF, outFeatures: outF, workers: workers)
                var hits = [Int](repeating: 0, count: rows * outF)
                for t in 0..<tiles.count {
                    let r = tiles.rows(t), c = tiles.columns(t)
                    XCTAssertFalse(r.isEmpty || c.isEmpty, "empty tile \(t) of \(rows)×\(outF), \(workers) workers")
                    if r.upperBound < rows { XCTAssertEqual(r.count % 16, 0) }
                    if c.upperBound < outF { XCTAssertEqual(c.count % 16, 0) }
                    for i in r { for j in c { hits[i * outF + j] += 1 } }
                }
                XCTAssertEqual(hits, [Int](repeating: 1, count: rows * outF), "\(rows)×\(inF)→\(outF), \(workers) workers")
                if workers == 1 { XCTAssertEqual(tiles.count, min(rows, 1), "one worker: one product") }
            }
        }
    }

    /// The products give the same bits run by the team, by one thread taking every tile in turn,
    /// and by the team while another thread keeps a core busy (so the tiles fall to the workers
    /// differently): the row tiles, the column tiles and the fused activation.
    func testProductsAreBitIdenticalWhoeverRunsTheTiles() {
        var rng = SeededGenerator(seed: 3)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 1000 - 1 } }
        for (rows, inF, outF) in [(300, 96, 48), (1100, 64, 48), (384, 96, 1152), (40, 128, 256), (1536, 384, 384)] {
            let x = random(rows * inF), w = random(outF * inF), bias = random(outF)
            func run() -> ([Float], [Float]) {
                var plain = [Float](repeating: 0, count: rows * outF), act = plain, pre = plain
                matmulForward(out: &plain, inp: x, weight: w, bias: bias, rows: rows, inFeatures: inF, outFeatures: outF)
                matmulActivationForward(pre: &pre, out: &act, inp: x, weight: w, bias: bias,
                                        rows: rows, inFeatures: inF, outFeatures: outF, activation: .gelu)
                return (plain, act)
            }
            let team = run()
            for (name, other) in [("one thread", oneThread(run)), ("a busy core", withBusyCore(run))] {
                XCTAssertTrue(team.0 == other.0, "matmulForward \(rows)×\(inF)→\(outF): team vs \(name)")
                XCTAssertTrue(team.1 == other.1, "matmulActivationForward \(rows)×\(inF)→\(outF): team vs \(name)")
            }
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
