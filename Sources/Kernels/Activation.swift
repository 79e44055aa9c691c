// Feed-forward activations (config.json's `hidden_act`), element-wise over a buffer.

/// The activations BERT checkpoints use.
public enum Activation: String, Sendable, CaseIterable {
    /// 0.5·x·(1 + erf(x/√2)): HF's "gelu".
    case gelu
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): HF's "gelu_new" (also "gelu_pytorch_tanh").
    case geluNew = "gelu_new"
    case relu
}

/// out and inp are (N) (any shape, flat); may alias. Single-threaded: callers parallelize.
public func activationForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, kind: Activation
) {
    var i = 0
    switch kind {
    case .gelu:
        let half = Vec16(repeating: 0.5), one = Vec16(repeating: 1)
        let invSqrt2 = Vec16(repeating: 0.707_106_781_186_547_5)
        while i + 16 <= count {
            let x = load16(inp + i)
            store16(x * half * (one + VectorMath.erf(x * invSqrt2)), out + i)
            i += 16
        }
    case .geluNew:
        let half = Vec16(repeating: 0.5), one = Vec16(repeating: 1)
        let k = Vec16(repeating: 0.797_884_560_802_865_4), c = Vec16(repeating: 0.044_715)
        while i + 16 <= count {
            let x = load16(inp + i)
            let inner = k * (x + c * x * x * x)
            store16(half * x * (one + VectorMath.tanh(inner)), out + i)
            i += 16
        }
    case .relu:
        let zero = Vec16(repeating: 0)
        while i + 16 <= count {
            store16(vmax(load16(inp + i), zero), out + i)
            i += 16
        }
    }
    tailActivation(out: out, inp: inp, from: i, count: count, kind: kind)
}

/// The last < 16 elements, through a zero-padded stack vector so results match the vector path.
@inline(__always)
private func tailActivation(
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
