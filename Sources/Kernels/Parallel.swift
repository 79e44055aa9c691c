import Foundation

/// A raw pointer that may cross into `concurrentPerform` workers. Kernels hand each worker a
/// disjoint range of rows, so no two workers write the same memory.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    @inline(__always) public init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Row-parallel loops over the machine's cores: the calling thread and `SpinningPool`'s threads
/// (or `DispatchQueue.concurrentPerform` when the pool is busy with another caller).
public enum Parallel {
    /// Worker count: one per active core. Kernels split work into this many static chunks so a
    /// chunk index doubles as a per-worker scratch slot.
    public static let workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(chunk, range)` for `chunks` contiguous, near-equal ranges covering `0..<count`.
    /// Ranges are empty-free: fewer chunks run when `count < chunks`. Runs inline for one chunk.
    @inline(__always)
    public static func forEachChunk(
        _ count: Int, chunks: Int = workers, _ body: (Int, Range<Int>) -> Void
    ) {
        let n = min(max(chunks, 1), count)
        guard n > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        let ran = SpinningPool.shared.run(chunks: n) { chunk in
            body(chunk, count * chunk / n ..< count * (chunk + 1) / n)
        }
        if ran { return }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: n) { chunk in
                let lo = count * chunk / n, hi = count * (chunk + 1) / n
                box.value(chunk, lo..<hi)
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

/// Lets a non-Sendable closure run on the concurrentPerform workers; safe because the workers
/// finish before `forEachChunk` returns and touch disjoint data.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
