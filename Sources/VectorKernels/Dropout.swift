import KernelCore

extension SIMDKernels {
    /// out (N) = keep ? inp · scale : 0, for elements `first..<first+N` of the site (the mask index
    /// is `first + i`, so a site may be processed in pieces). out and inp may alias.
    /// Single-threaded: callers parallelize.
    @inline(__always)
    static func dropoutApply(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, first: Int, mask: DropoutMask
    ) {
        let scale = Vec16(repeating: mask.scale), zero = Vec16(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let keep = mask.keep16(first + i)
            store16((load16(inp + i) * scale).replacing(with: zero, where: .!keep), out + i)
            i += 16
        }
        while i < count {
            out[i] = mask.keeps(first + i) ? inp[i] * mask.scale : 0
            i += 1
        }
    }

    /// Dropout on x (N) in place, elements 0..<N of the site; parallel over the workers.
    public static func dropoutForward(_ x: UnsafeMutablePointer<Float>, count: Int, mask: DropoutMask) {
        guard mask.isActive else { return }
        let p = SendablePointer(x)
        Parallel.forEachRows(count / 16 + 1, costPerRow: 64) { _, blocks in
            let lo = min(blocks.lowerBound * 16, count), hi = min(blocks.upperBound * 16, count)
            dropoutApply(out: p.pointer + lo, inp: p.pointer + lo, count: hi - lo, first: lo, mask: mask)
        }
    }

    /// dinp (N) = dout masked and scaled as the forward did (same mask, regenerated). May alias.
    public static func dropoutBackward(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int, mask: DropoutMask
    ) {
        guard mask.isActive else {
            if UnsafePointer(dinp) != dout { dinp.update(from: dout, count: count) }
            return
        }
        let o = SendablePointer(dinp), d = SendablePointer(UnsafeMutablePointer(mutating: dout))
        Parallel.forEachRows(count / 16 + 1, costPerRow: 64) { _, blocks in
            let lo = min(blocks.lowerBound * 16, count), hi = min(blocks.upperBound * 16, count)
            dropoutApply(out: o.pointer + lo, inp: d.pointer + lo, count: hi - lo, first: lo, mask: mask)
        }
    }
}
