/// Sixteen float lanes: the vector kernels' unit (one AVX-512 register, two AVX2 registers,
/// four SSE or NEON ones; each vector path compiles the same code for its registers).
public typealias Vec16 = SIMD16<Float>

/// Unaligned 16-lane loads and stores on raw Float pointers. Inlinable: they compile into each
/// vector path with that path's instructions.
@inlinable @inline(__always)
public func load16(_ p: UnsafePointer<Float>) -> Vec16 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec16.self)
}

@inlinable @inline(__always)
public func load16(_ p: UnsafeMutablePointer<Float>) -> Vec16 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec16.self)
}

@inlinable @inline(__always)
public func store16(_ v: Vec16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec16.self)
}
