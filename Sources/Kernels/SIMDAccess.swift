/// Unaligned 16-lane loads and stores on raw Float pointers.
@inline(__always)
public func load16(_ p: UnsafePointer<Float>) -> Vec16 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec16.self)
}

@inline(__always)
public func load16(_ p: UnsafeMutablePointer<Float>) -> Vec16 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec16.self)
}

@inline(__always)
public func store16(_ v: Vec16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec16.self)
}

/// x[0..<count] += y[0..<count] (the one vector add-in-place the kernels share).
@inline(__always)
public func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    var c = 0
    while c + 16 <= count { store16(load16(x + c) + load16(y + c), x + c); c += 16 }
    while c < count { x[c] += y[c]; c += 1 }
}

/// Each of `rows` rows of x (rows, columns) += bias (columns), on all cores.
public func addRowBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, columns: Int) {
    let xp = SendablePointer(x)
    Parallel.forEachRows(rows, costPerRow: columns) { _, range in
        for r in range { addInPlace(xp.pointer + r * columns, bias, count: columns) }
    }
}
