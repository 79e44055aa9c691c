import Kernels

/// `body` on one thread of a parallel region: every kernel inside it runs its tiles inline, in
/// order (a nested region gets one thread).
public func oneThread<T>(_ body: () -> T) -> T {
    let slot = UnsafeMutablePointer<T?>.allocate(capacity: 1)
    slot.initialize(to: nil)
    defer { slot.deallocate() }
    let s = SendablePointer(slot)
    Parallel.forEachChunk(Parallel.workers, chunks: Parallel.workers) { chunk, _ in
        if chunk == 0 { s.pointer.pointee = body() }
    }
    return slot.move() ?? body()
}
