import CDNNL
import Foundation
import Synchronization

/// A raw pointer that may cross into the worker threads. Kernels hand each worker a disjoint
/// range of rows, so no two workers write the same memory.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    @inline(__always) public init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Row-parallel loops over the machine's cores, as OpenMP parallel regions on libgomp's thread
/// team — the team oneDNN's matrix products run on.
///
/// Why OpenMP: a forward pass is ~10 parallel regions per layer, each 0.1–2 ms long. Waking
/// sleeping threads for each costs tens of microseconds on bare metal and far more on a virtual
/// machine, where woken workers lose much of the second core's gain; libgomp's threads spin a
/// while before they sleep. And oneDNN, called inside a region, runs on the calling thread: one team
/// for the products and the element-wise kernels, no second pool spinning on the same cores.
public enum Parallel {
    /// Worker count: libgomp's team size — one per core this process may run on (its CPU
    /// affinity: `taskset`, a cgroup's cpuset, an MPI rank bound to its cores), or
    /// `OMP_NUM_THREADS` — the threads oneDNN's products use too. Not Foundation's
    /// `activeProcessorCount`, which counts the machine's cores whatever the affinity: an MPI
    /// rank bound to one core then ran two spinning threads on it. Kernels split work into this
    /// many static chunks so a chunk index doubles as a per-worker scratch slot.
    public static let workers: Int = max(1, Int(omp_get_max_threads()))

    /// Runs `body(chunk, range)` for `chunks` contiguous, near-equal ranges covering `0..<count`.
    /// Ranges are empty-free: fewer chunks run when `count < chunks`. Runs inline for one chunk
    /// or when already inside a parallel region (a nested region would get one thread anyway).
    /// Chunk c runs on thread c mod (threads in the team): a static schedule, so a kernel's
    /// result never depends on thread timing.
    @inline(__always)
    public static func forEachChunk(
        _ count: Int, chunks: Int = workers, _ body: (Int, Range<Int>) -> Void
    ) {
        let n = min(max(chunks, 1), count)
        guard n > 1, omp_in_parallel() == 0 else {
            for chunk in 0..<n { body(chunk, count * chunk / n ..< count * (chunk + 1) / n) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var region = Region(count: count, chunks: n, body: body)
            withUnsafeMutablePointer(to: &region) { pointer in
                GOMP_parallel(runRegion, pointer, UInt32(min(n, workers)), 0)
            }
        }
    }

    /// Splits `count` rows over the workers only when the work is worth a thread handoff
    /// (`count * costPerRow` above ~32K element operations); otherwise runs inline.
    @inline(__always)
    public static func forEachRows(
        _ count: Int, costPerRow: Int, _ body: (Int, Range<Int>) -> Void
    ) {
        let chunks = count * costPerRow < 32_768 ? 1 : workers
        forEachChunk(count, chunks: chunks, body)
    }
}

extension Parallel {
    /// Runs `body(worker, tile)` once for each of `tiles` tiles, the workers claiming the next
    /// unclaimed tile as they finish one (a faster core takes more tiles; no core idles while
    /// tiles remain). `worker` is the claiming thread's slot (0..<workers) for per-worker scratch.
    ///
    /// Determinism: which worker runs which tile follows timing, so callers cut their work into
    /// tiles whose geometry depends on the problem's shape and the worker count alone, and each
    /// tile writes only its own outputs with the same arithmetic whoever runs it. Results are
    /// then bit-identical from run to run, whatever the load (`ParallelTests`). Runs the tiles
    /// inline, in order, for one tile or inside a parallel region.
    @inline(__always)
    public static func forEachTile(_ tiles: Int, _ body: (Int, Int) -> Void) {
        let n = min(workers, tiles)
        guard n > 1, omp_in_parallel() == 0 else {
            for tile in 0..<tiles { body(0, tile) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: next) { counter in
                var claim = TileClaim(tiles: tiles, next: counter, body: body)
                withUnsafeMutablePointer(to: &claim) { pointer in
                    GOMP_parallel(runTiles, pointer, UInt32(n), 0)
                }
            }
        }
    }
}

/// One `forEachTile` region: the tile count, the shared claim counter, the work.
private struct TileClaim {
    let tiles: Int
    let next: UnsafePointer<Atomic<Int>>
    let body: (Int, Int) -> Void
}

private let runTiles: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let claim = raw?.assumingMemoryBound(to: TileClaim.self).pointee else { return }
    let worker = Int(omp_get_thread_num())
    while true {
        let tile = claim.next.pointee.wrappingAdd(1, ordering: .relaxed).oldValue
        guard tile < claim.tiles else { return }
        claim.body(worker, tile)
    }
}

/// What one `forEachChunk` region runs, read-only while the team runs it: chunk c is the c-th
/// of `chunks` equal ranges of `count`.
private struct Region {
    let count: Int
    let chunks: Int
    let body: (Int, Range<Int>) -> Void
}

/// Each thread of the team runs the chunks congruent to its thread number.
private let runRegion: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let region = raw?.assumingMemoryBound(to: Region.self).pointee else { return }
    var chunk = Int(omp_get_thread_num())
    let stride = max(1, Int(omp_get_num_threads()))
    while chunk < region.chunks {
        region.body(chunk, region.count * chunk / region.chunks ..< region.count * (chunk + 1) / region.chunks)
        chunk += stride
    }
}
