import KernelCore

// The int8 inference path's two passes around each product (`PackedLinear`, precision int8):
// the input quantized per row before it, the row's scale applied after it.

extension SIMDKernels {
    /// out (rows, columns) int8 = round(inp / scale[r]), scales[r] = max |inp[r, :]| / 127:
    /// symmetric, one scale per row (a token), rounded to nearest even, so each row's
    /// quantization depends on that row alone. A row of zeros gets scale 0 and zeros; a row
    /// holding NaN or ±inf gets scale NaN and zeros, so its products come out NaN as fp32's
    /// would, never a number. Row-parallel; out and inp must not overlap.
    public static func quantizeRowsInt8(out: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                                        inp: UnsafePointer<Float>, rows: Int, columns: Int) {
        let o = SendablePointer(out), s = SendablePointer(scales), x = SendablePointer(UnsafeMutablePointer(mutating: inp))
        Parallel.forEachRows(rows, costPerRow: 3 * columns) { _, range in
            for r in range {
                s.pointer[r] = quantizeRow(out: o.pointer + r * columns, inp: x.pointer + r * columns, count: columns)
            }
        }
    }

    /// x[r, :] *= scales[r] over (rows, columns): the input rows' scales applied to a product's
    /// output. Row-parallel.
    public static func scaleRows(_ x: UnsafeMutablePointer<Float>, scales: UnsafePointer<Float>, rows: Int, columns: Int) {
        let y = SendablePointer(x), s = SendablePointer(UnsafeMutablePointer(mutating: scales))
        Parallel.forEachRows(rows, costPerRow: columns) { _, range in
            for r in range {
                let row = y.pointer + r * columns, scale = s.pointer[r], v = Vec16(repeating: scale)
                var i = 0
                while i + 16 <= columns {
                    (UnsafeMutableRawPointer(row + i)).storeBytes(of: load16(row + i) * v, as: Vec16.self)
                    i += 16
                }
                while i < columns { row[i] *= scale; i += 1 }
            }
        }
    }

    /// One row: its scale, and its values quantized into `out`.
    @inline(__always)
    static func quantizeRow(out: UnsafeMutablePointer<Int8>, inp: UnsafePointer<Float>, count: Int) -> Float {
        // The largest magnitude as bits: for non-negative floats the integer order is the float
        // order, and every NaN and ±inf compares at or above 0x7F80_0000, so no NaN can slip
        // through a float max.
        let magnitude = SIMD16<UInt32>(repeating: 0x7FFF_FFFF)
        var largest = SIMD16<UInt32>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let bits = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD16<UInt32>.self) & magnitude
            largest.replace(with: bits, where: largest .< bits)  // (compare + select: see vmax)
            i += 16
        }
        var top: UInt32 = 0
        for lane in 0..<16 { top = max(top, largest[lane]) }
        while i < count { top = max(top, inp[i].bitPattern & 0x7FFF_FFFF); i += 1 }
        guard top != 0, top < 0x7F80_0000 else {
            out.initialize(repeating: 0, count: count)
            return top == 0 ? 0 : .nan
        }
        let amax = Float(bitPattern: top), inverse = 127 / amax
        let v = Vec16(repeating: inverse)
        i = 0
        while i + 16 <= count {
            storeInt8(load16(inp + i) * v, out + i)
            i += 16
        }
        while i < count {
            out[i] = Int8(min(max(inp[i] * inverse, -127), 127).rounded(.toNearestOrEven))
            i += 1
        }
        return amax / 127
    }

    /// out[0..<16] = x clamped to ±127 and rounded to nearest even. Adding 1.5·2^23 rounds to an
    /// integer and leaves it, two's complement, in the low mantissa bits: the low byte is the
    /// int8 (|x| ≤ 127 after the clamp).
    @inline(__always)
    static func storeInt8(_ x: Vec16, _ out: UnsafeMutablePointer<Int8>) {
        let limit = Vec16(repeating: 127)
        let bits = unsafeBitCast(vmin(vmax(x, -limit), limit) + Vec16(repeating: 12_582_912), to: SIMD16<UInt32>.self)
        // Lane by lane rather than the standard library's generic SIMD narrowing, whose
        // specialization would be emitted out of line and shared between the vector paths
        // (see VectorMath's reductions); the compiler packs these stores itself.
        for lane in 0..<16 { out[lane] = Int8(truncatingIfNeeded: bits[lane]) }
    }
}
