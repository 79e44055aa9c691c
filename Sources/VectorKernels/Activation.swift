import KernelCore

extension SIMDKernels {
    /// out and inp are (N) (any shape, flat); may alias. Single-threaded: callers parallelize.
    public static func activationForward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, kind: Activation
    ) {
        let i: Int
        switch kind {
        case .gelu: i = activationLoop(GELUErf.self, out: out, inp: inp, count: count)
        case .geluNew: i = activationLoop(GELUTanh.self, out: out, inp: inp, count: count)
        case .relu: i = activationLoop(ReLU.self, out: out, inp: inp, count: count)
        }
        tailActivation(out: out, inp: inp, from: i, count: count, kind: kind)
    }

    /// pre += bias, then out = act(pre), in one pass (the bias and activation of a product computed
    /// without its bias). pre, out are (N) and may be the same buffer (then only act(pre + bias)
    /// is kept); bias is (N).
    static func biasActivationForward(
        pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
        count: Int, kind: Activation
    ) {
        let i: Int
        switch kind {
        case .gelu: i = biasActivationLoop(GELUErf.self, pre: pre, out: out, bias: bias, count: count)
        case .geluNew: i = biasActivationLoop(GELUTanh.self, pre: pre, out: out, bias: bias, count: count)
        case .relu: i = biasActivationLoop(ReLU.self, pre: pre, out: out, bias: bias, count: count)
        }
        guard i < count else { return }
        for j in i..<count { pre[j] += bias[j] }
        tailActivation(out: out, inp: pre, from: i, count: count, kind: kind)
    }

    /// x = act(x + bias) over (rows, columns), rows split over the workers: the bias and activation
    /// of a product computed without them (the packed inference path's intermediate layer).
    public static func biasActivationInPlace(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                                      rows: Int, columns: Int, kind: Activation) {
        let p = SendablePointer(x)
        Parallel.forEachRows(rows, costPerRow: columns) { _, range in
            for r in range {
                biasActivationForward(pre: p.pointer + r * columns, out: p.pointer + r * columns, bias: bias,
                                      count: columns, kind: kind)
            }
        }
    }

    /// out = F(inp) over the whole vectors of `count`; returns where the < 16 tail starts. The
    /// activation comes as a type, so each loop is specialized with it inlined: passed as a
    /// closure, GELU became an out-of-line call per 16 lanes, its argument in four SSE registers
    /// and its temporaries spilled (perf annotate, Zen 1, 2026-12-06).
    @inline(__always)
    private static func activationLoop<F: VectorActivation>(
        _: F.Type, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int
    ) -> Int {
        var i = 0
        while i + 16 <= count {
            store16(F.apply(load16(inp + i)), out + i)
            i += 16
        }
        return i
    }

    /// pre += bias (kept when pre is not out) and out = F(pre) over the whole vectors of `count`.
    @inline(__always)
    private static func biasActivationLoop<F: VectorActivation>(
        _: F.Type, pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
        count: Int
    ) -> Int {
        let keepPre = pre != out
        var i = 0
        while i + 16 <= count {
            let x = load16(pre + i) + load16(bias + i)
            if keepPre { store16(x, pre + i) }
            store16(F.apply(x), out + i)
            i += 16
        }
        return i
    }

    /// 0.5·x·(1 + erf(x/√2)).
    @inline(__always)
    fileprivate static func gelu16(_ x: Vec16) -> Vec16 {
        let half = x * Vec16(repeating: 0.5)
        return fma16(half, VectorMath.erf(x * Vec16(repeating: 0.707_106_781_186_547_5)), half)
    }

    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @inline(__always)
    fileprivate static func geluNew16(_ x: Vec16) -> Vec16 {
        let inner = Vec16(repeating: 0.797_884_560_802_865_4) * (x + Vec16(repeating: 0.044_715) * x * x * x)
        return Vec16(repeating: 0.5) * x * (Vec16(repeating: 1) + VectorMath.tanh(inner))
    }

    @inline(__always)
    fileprivate static func relu16(_ x: Vec16) -> Vec16 { vmax(x, Vec16(repeating: 0)) }

    /// The last < 16 elements, through a zero-padded stack vector so results match the vector path.
    @inline(__always)
    private static func tailActivation(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, from start: Int, count: Int, kind: Activation
    ) {
        guard start < count else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scratch in
            guard let p = scratch.baseAddress else { return }
            p.initialize(repeating: 0, count: 16)
            for j in start..<count { p[j - start] = inp[j] }
            activationForward(out: p, inp: p, count: 16, kind: kind)
            for j in start..<count { out[j] = p[j - start] }
        }
    }
}

/// An element-wise activation on 16 lanes, as a type (see `activationLoop`).
private protocol VectorActivation {
    static func apply(_ x: Vec16) -> Vec16
}

private enum GELUErf: VectorActivation {
    @inline(__always) static func apply(_ x: Vec16) -> Vec16 { SIMDKernels.gelu16(x) }
}

private enum GELUTanh: VectorActivation {
    @inline(__always) static func apply(_ x: Vec16) -> Vec16 { SIMDKernels.geluNew16(x) }
}

private enum ReLU: VectorActivation {
    @inline(__always) static func apply(_ x: Vec16) -> Vec16 { SIMDKernels.relu16(x) }
}
