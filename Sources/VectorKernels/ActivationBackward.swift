import KernelCore

// Backward of `activationForward`: dinp = dout · act'(pre), from the saved pre-activation.
//   gelu (erf):  Φ(x) + x·φ(x)                      (as torch's GeluBackward, approximate='none')
//   gelu_new:    ½(1+t) + ½x(1-t²)·k(1+3c·x²), t = tanh(k(x + c·x³))   (autograd of HF's formula)
//   relu:        1 if x > 0 else 0

extension SIMDKernels {
    /// dinp, dout and pre are (N), flat; dinp may alias dout. Parallel over the workers.
    public static func activationBackward(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, pre: UnsafePointer<Float>,
        count: Int, kind: Activation
    ) {
        let di = SendablePointer(dinp), d = SendablePointer(UnsafeMutablePointer(mutating: dout))
        let x = SendablePointer(UnsafeMutablePointer(mutating: pre))
        Parallel.forEachRows(count / 16 + 1, costPerRow: 16 * 16) { _, blocks in
            let lo = min(blocks.lowerBound * 16, count), hi = min(blocks.upperBound * 16, count)
            activationBackwardSpan(dinp: di.pointer + lo, dout: d.pointer + lo, pre: x.pointer + lo,
                                   count: hi - lo, kind: kind)
        }
    }

    /// One span on the calling thread; the < 16 tail goes through a zero-padded vector.
    @inline(__always)
    static func activationBackwardSpan(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, pre: UnsafePointer<Float>,
        count: Int, kind: Activation
    ) {
        var i = 0
        while i + 16 <= count {
            store16(load16(dout + i) * activationDerivative(load16(pre + i), kind), dinp + i)
            i += 16
        }
        guard i < count else { return }
        var x = Vec16(repeating: 0)
        for j in i..<count { x[j - i] = pre[j] }
        let g = activationDerivative(x, kind)
        for j in i..<count { dinp[j] = dout[j] * g[j - i] }
    }

    @inline(__always)
    static func activationDerivative(_ x: Vec16, _ kind: Activation) -> Vec16 {
        let half = Vec16(repeating: 0.5), one = Vec16(repeating: 1)
        switch kind {
        case .gelu:
            // erf(x/√2) computes exp(-(x/√2)²) = exp(-x²/2), the density's exponential, anyway.
            let (e, gaussian) = VectorMath.erfAndGaussian(x * Vec16(repeating: 0.707_106_781_186_547_5))
            let cdf = half * (one + e)
            let pdf = gaussian * Vec16(repeating: 0.398_942_280_401_432_7)
            return cdf + x * pdf
        case .geluNew:
            let k = Vec16(repeating: 0.797_884_560_802_865_4), c = Vec16(repeating: 0.044_715)
            let x2 = x * x
            let t = VectorMath.tanh(k * (x + c * x2 * x))
            return half * (one + t) + half * x * (one - t * t) * k * (one + Vec16(repeating: 3) * c * x2)
        case .relu:
            return one.replacing(with: 0, where: x .<= Vec16(repeating: 0))
        }
    }
}
