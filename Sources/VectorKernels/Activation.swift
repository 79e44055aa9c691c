import KernelCore

extension SIMDKernels {
    /// out and inp are (N) (any shape, flat); may alias. Single-threaded: callers parallelize.
    public static func activationForward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, kind: Activation
    ) {
        let i: Int
        switch kind {
        case .gelu: i = activationLoop(out: out, inp: inp, count: count, gelu16)
        case .geluNew: i = activationLoop(out: out, inp: inp, count: count, geluNew16)
        case .relu: i = activationLoop(out: out, inp: inp, count: count, relu16)
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
        let keepPre = pre != out
        var i = 0
        @inline(__always) func loop(_ f: (Vec16) -> Vec16) {
            while i + 16 <= count {
                let x = load16(pre + i) + load16(bias + i)
                if keepPre { store16(x, pre + i) }
                store16(f(x), out + i)
                i += 16
            }
        }
        switch kind {
        case .gelu: loop(gelu16)
        case .geluNew: loop(geluNew16)
        case .relu: loop(relu16)
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

    /// out = f(inp) over the whole vectors of `count`; returns where the < 16 tail starts.
    @inline(__always)
    private static func activationLoop(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, _ f: (Vec16) -> Vec16
    ) -> Int {
        var i = 0
        while i + 16 <= count {
            store16(f(load16(inp + i)), out + i)
            i += 16
        }
        return i
    }

    /// 0.5·x·(1 + erf(x/√2)).
    @inline(__always)
    private static func gelu16(_ x: Vec16) -> Vec16 {
        let half = x * Vec16(repeating: 0.5)
        return fma16(half, VectorMath.erf(x * Vec16(repeating: 0.707_106_781_186_547_5)), half)
    }

    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @inline(__always)
    private static func geluNew16(_ x: Vec16) -> Vec16 {
        let inner = Vec16(repeating: 0.797_884_560_802_865_4) * (x + Vec16(repeating: 0.044_715) * x * x * x)
        return Vec16(repeating: 0.5) * x * (Vec16(repeating: 1) + VectorMath.tanh(inner))
    }

    @inline(__always)
    private static func relu16(_ x: Vec16) -> Vec16 { vmax(x, Vec16(repeating: 0)) }

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
