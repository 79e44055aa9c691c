import KernelCore

// LayerNorm over the last dimension, saving mean and 1/std per row for the backward pass.

extension SIMDKernels {
    /// out is (N,C); mean, rstd are (N); inp is (N,C); weight, bias are (C).
    /// y = (x - mean) · rstd · weight + bias with rstd = 1/sqrt(var + eps), var biased (as PyTorch).
    public static func layerNormForward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows: Int, channels: Int, eps: Float
    ) {
        let o = SendablePointer(out), m = SendablePointer(mean), r = SendablePointer(rstd)
        let x = SendablePointer(UnsafeMutablePointer(mutating: inp))
        Parallel.forEachRows(rows, costPerRow: channels * 4) { _, range in
            for row in range {
                let (mu, rs) = normalizeRow(
                    out: o.pointer + row * channels, inp: x.pointer + row * channels,
                    weight: weight, bias: bias, channels: channels, eps: eps)
                m.pointer[row] = mu
                r.pointer[row] = rs
            }
        }
    }

    /// The post-sublayer LayerNorm of a BERT layer, fused with its residual add:
    /// `x += residual` in place (x then holds the LayerNorm's input, which the backward needs),
    /// then out = LayerNorm(x). With `denseBias`, x is the dense layer's product without its bias
    /// and `x += denseBias + residual` (inference: the bias added here, in a pass over x that
    /// happens anyway, instead of broadcast into the product's output first).
    /// x, residual and out are (N,C); mean, rstd are (N); weight, bias, denseBias are (C).
    public static func residualLayerNormForward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, denseBias: UnsafePointer<Float>? = nil,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows: Int, channels: Int, eps: Float
    ) {
        let o = SendablePointer(out), m = SendablePointer(mean), r = SendablePointer(rstd)
        let xs = SendablePointer(x), res = SendablePointer(UnsafeMutablePointer(mutating: residual))
        Parallel.forEachRows(rows, costPerRow: channels * 5) { _, range in
            for row in range {
                let xr = xs.pointer + row * channels, rr = res.pointer + row * channels
                // (x + bias) + residual: the order torch's addmm then residual add rounds in.
                if let denseBias { addInPlace(xr, denseBias, count: channels) }
                addInPlace(xr, rr, count: channels)
                let (mu, rs) = normalizeRow(
                    out: o.pointer + row * channels, inp: xr,
                    weight: weight, bias: bias, channels: channels, eps: eps)
                m.pointer[row] = mu
                r.pointer[row] = rs
            }
        }
    }

    /// One row: two passes (mean, then centred variance) for accuracy, then the affine output.
    @inline(__always)
    private static func normalizeRow(
        out: UnsafeMutablePointer<Float>, inp: UnsafeMutablePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, channels: Int, eps: Float
    ) -> (Float, Float) {
        var acc = Vec16(repeating: 0)
        var tail: Float = 0
        var c = 0
        while c + 16 <= channels { acc += load16(inp + c); c += 16 }
        while c < channels { tail += inp[c]; c += 1 }
        let mu = (laneSum(acc) + tail) / Float(channels)
        let mv = Vec16(repeating: mu)
        acc = Vec16(repeating: 0)
        tail = 0
        c = 0
        while c + 16 <= channels {
            let d = load16(inp + c) - mv
            acc += d * d
            c += 16
        }
        while c < channels { let d = inp[c] - mu; tail += d * d; c += 1 }
        let variance = (laneSum(acc) + tail) / Float(channels)
        let rs = 1 / (variance + eps).squareRoot()
        let rv = Vec16(repeating: rs)
        c = 0
        while c + 16 <= channels {
            let n = (load16(inp + c) - mv) * rv
            store16(n * load16(weight + c) + load16(bias + c), out + c)
            c += 16
        }
        while c < channels { out[c] = (inp[c] - mu) * rs * weight[c] + bias[c]; c += 1 }
        return (mu, rs)
    }
}
