import KernelCore

extension SIMDKernels {
    /// x[0..<count] += y[0..<count] (the one vector add-in-place the kernels share).
    @inline(__always)
    public static func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        var c = 0
        while c + 16 <= count { store16(load16(x + c) + load16(y + c), x + c); c += 16 }
        while c < count { x[c] += y[c]; c += 1 }
    }

    /// Each of `rows` rows of x (rows, columns) += bias (columns), on all cores.
    public static func addRowBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, columns: Int) {
        let xp = SendablePointer(x)
        Parallel.forEachRows(rows, costPerRow: columns) { _, range in
            for r in range { addInPlace(xp.pointer + r * columns, bias, count: columns) }
        }
    }
}
