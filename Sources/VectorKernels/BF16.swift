import KernelCore

// fp32 → bfloat16 rounding for the bf16 inference path (`PackedLinear`).

extension SIMDKernels {
    /// bf16 buffer of (rows, columns) = fp32 `inp` rounded to nearest even (NaN stays NaN).
    /// Row-parallel; out and inp must not overlap.
    public static func convertToBF16(out: UnsafeMutablePointer<UInt16>, inp: UnsafePointer<Float>, count: Int) {
        let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: inp))
        let blocks = (count + 4095) / 4096
        Parallel.forEachRows(blocks, costPerRow: 4096) { _, range in
            let start = range.lowerBound * 4096, end = min(range.upperBound * 4096, count)
            bf16Round(out: o.pointer + start, inp: x.pointer + start, count: end - start)
        }
    }

    @inline(__always)
    private static func bf16Round(out: UnsafeMutablePointer<UInt16>, inp: UnsafePointer<Float>, count: Int) {
        var i = 0
        let half = SIMD16<UInt32>(repeating: 0x7FFF), one = SIMD16<UInt32>(repeating: 1)
        let magnitude = SIMD16<UInt32>(repeating: 0x7FFF_FFFF), infinity = SIMD16<UInt32>(repeating: 0x7F80_0000)
        while i + 16 <= count {
            let bits = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD16<UInt32>.self)
            // Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit, keep the top half.
            var rounded = (bits &+ half &+ ((bits &>> 16) & one)) &>> 16
            // NaN: keep it a (quiet) NaN rather than let the carry turn it into ±inf or ±0.
            rounded.replace(with: (bits &>> 16) | SIMD16<UInt32>(repeating: 0x40), where: (bits & magnitude) .> infinity)
            UnsafeMutableRawPointer(out + i).storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: rounded), as: SIMD16<UInt16>.self)
            i += 16
        }
        while i < count {
            let bits = inp[i].bitPattern
            out[i] = (bits & 0x7FFF_FFFF) > 0x7F80_0000
                ? UInt16(truncatingIfNeeded: bits >> 16) | 0x40
                : UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            i += 1
        }
    }
}
