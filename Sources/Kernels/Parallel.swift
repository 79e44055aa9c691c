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
/// machine (measured here: two workers woken per region reached only 1.1–1.4× one worker on a
/// MiniLM product, against 1.7–1.9× for two that stay busy); libgomp's threads spin a while
/// before they sleep. And oneDNN, called inside a region, runs on the calling thread: one team
/// for the products and the element-wise kernels, no second pool spinning on the same cores.
public enum Parallel {
    /// Worker count: one per active core. Kernels split work into this many static chunks so a
    /// chunk index doubles as a per-worker scratch slot.
    public static let workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

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
    /// Runs `body(worker, range)` with `count` units split over the workers in proportion to
    /// each worker's recent speed (`WorkerSpeeds`), in multiples of `granule` units and at least
    /// `minimum` units a worker, and times each worker's share to update the speeds.
    ///
    /// Only for work whose every output element comes out the same whichever worker computes it
    /// and wherever the cuts fall (row-independent kernels; sgemm pieces of ≥ 16 rows, or of
    /// 16-column blocks — checked bit for bit by `ParallelTests`), so results stay deterministic.
    /// Falls back to `forEachChunk`'s equal split when `count` is too small to cut by speed.
    @inline(__always)
    public static func forEachShare(
        _ count: Int, granule: Int = 1, minimum: Int = 1, chunks: Int = workers, _ body: (Int, Range<Int>) -> Void
    ) {
        let n = min(max(chunks, 1), workers)
        let piece = max(granule, minimum)
        guard n == workers, n > 1, count >= 2 * n * piece, omp_in_parallel() == 0 else {
            return forEachChunk(count, chunks: chunks, body)
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * n + 1) { scratch in
            let bounds = scratch.baseAddress!, nanoseconds = bounds + n + 1
            WorkerSpeeds.cuts(count: count, granule: granule, minimum: piece, into: bounds, workers: n)
            withoutActuallyEscaping(body) { body in
                var region = Region(count: count, chunks: n, bounds: bounds, nanoseconds: nanoseconds, body: body)
                withUnsafeMutablePointer(to: &region) { pointer in
                    GOMP_parallel(runRegion, pointer, UInt32(n), 0)
                }
            }
            WorkerSpeeds.update(bounds: bounds, nanoseconds: nanoseconds, workers: n)
        }
    }
}

/// Each worker's speed relative to the others, learned from the shares it ran: the cores of this
/// (virtual) machine do not run at one speed. The same single-threaded product measured 87–118
/// GFLOP/s on one core and 95–118 on the other, which was faster changing from one run to the
/// next; with equal halves the faster core spun at each region's end waiting for the slower
/// (perf: 11 % of a MiniLM 1 × 384 forward pass in libgomp's spin loop, nearly all on one thread).
enum WorkerSpeeds {
    /// Relative speeds (mean 1), one per worker; each update moves them a quarter of the way to
    /// the speeds the last region measured, so one disturbed region cannot swing the split.
    private static let speeds = Mutex<[Double]>([Double](repeating: 1, count: Parallel.workers))
    private static let smoothing = 0.25

    /// bounds[0...n]: cuts at multiples of `granule` (except the last, at `count`), each share
    /// at least `minimum` units, in proportion to the speeds.
    static func cuts(count: Int, granule: Int, minimum: Int, into bounds: UnsafeMutablePointer<Int>, workers n: Int) {
        speeds.withLock { speeds in
            let total = speeds.prefix(n).reduce(0, +)
            var cumulative = 0.0
            bounds[0] = 0
            for c in 1..<n {
                cumulative += speeds[c - 1]
                let ideal = Double(count) * cumulative / total
                let rounded = Int((ideal / Double(granule)).rounded()) * granule
                bounds[c] = min(max(rounded, bounds[c - 1] + minimum), count - (n - c) * minimum)
            }
            bounds[n] = count
        }
    }

    /// Moves the speeds toward units per nanosecond of the shares just run. Regions shorter
    /// than 20 µs a worker are skipped: their times are mostly the region's own overhead.
    static func update(bounds: UnsafePointer<Int>, nanoseconds: UnsafePointer<Int>, workers n: Int) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { rates in
            var sum = 0.0
            for c in 0..<n {
                guard nanoseconds[c] >= 20_000 else { return }
                rates[c] = Double(bounds[c + 1] - bounds[c]) / Double(nanoseconds[c])
                sum += rates[c]
            }
            let mean = sum / Double(n)
            speeds.withLock { speeds in
                for c in 0..<n {
                    let relative = min(max(rates[c] / mean, 0.25), 4)
                    speeds[c] += smoothing * (relative - speeds[c])
                }
            }
        }
    }

    static func set(_ values: [Double]?) {
        speeds.withLock { speeds in
            for c in speeds.indices { speeds[c] = values.map { max($0[c % $0.count], 0.25) } ?? 1 }
        }
    }

    static var current: [Double] { speeds.withLock { $0 } }
}

extension Parallel {
    /// The relative worker speeds `forEachShare` splits by (mean about 1, one per worker).
    public static var workerSpeeds: [Double] { WorkerSpeeds.current }

    /// Sets them (`nil`: equal), for tests that check results do not depend on the split.
    public static func setWorkerSpeeds(_ speeds: [Double]?) { WorkerSpeeds.set(speeds) }
}

/// What one parallel region runs; read-only while the team runs it (but for each worker's own
/// slot of `nanoseconds`). Without `bounds`, chunk c is the c-th of `chunks` equal ranges of
/// `count` (`forEachChunk`); with them, bounds[c] ..< bounds[c + 1], its time written to
/// nanoseconds[c] (`forEachShare`).
private struct Region {
    let count: Int
    let chunks: Int
    var bounds: UnsafeMutablePointer<Int>? = nil
    var nanoseconds: UnsafeMutablePointer<Int>? = nil
    let body: (Int, Range<Int>) -> Void
}

/// Each thread of the team runs the chunks congruent to its thread number.
private let runRegion: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let region = raw?.assumingMemoryBound(to: Region.self).pointee else { return }
    var chunk = Int(omp_get_thread_num())
    let stride = max(1, Int(omp_get_num_threads()))
    while chunk < region.chunks {
        if let bounds = region.bounds, let nanoseconds = region.nanoseconds {
            let start = DispatchTime.now().uptimeNanoseconds
            region.body(chunk, bounds[chunk] ..< bounds[chunk + 1])
            nanoseconds[chunk] = Int(DispatchTime.now().uptimeNanoseconds - start)
        } else {
            region.body(chunk, region.count * chunk / region.chunks ..< region.count * (chunk + 1) / region.chunks)
        }
        chunk += stride
    }
}
