import KernelCore

// Backward of `attentionForward`, per (batch, head), as strided sgemm calls on the fused
// buffers (no head split/merge copies, as in the forward). With P the saved softmax, P' the
// probabilities after dropout (regenerated from the mask), and s = 1/√hs:
//   dv  = P'ᵀ · dctx          dP' = dctx · vᵀ          dP = dropout backward of dP'
//   dS  = P ⊙ (dP − rowsum(P ⊙ dP))                    (softmax; masked keys have P = 0)
// With dropout, P ⊙ dP = P' ⊙ dP' (P' = P·mask·scale), so dS = P' ⊙ dP' − P · rowsum(P' ⊙ dP'):
// the mask is regenerated once per (batch, head), for P', and never applied to dP'.
//   dq  = s · dS · k          dk  = s · dSᵀ · q

extension SIMDKernels {
    /// dqkv is (B,T,3C), written; dctx is (B,T,C) (heads merged, as ctx); att is (B,NH,T,T), the
    /// forward's saved probabilities; qkv is (B,T,3C); scratch holds
    /// `attentionBackwardScratchCount(seq:)` floats; dropout is the forward's probability dropout.
    public static func attentionBackward(
        dqkv: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>, att: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, dropout: DropoutMask?,
        batch: Int, seq: Int, channels: Int, heads: Int
    ) {
        let B = batch, T = seq, C = channels, NH = heads, hs = C / heads
        let scale = 1 / Float(hs).squareRoot()
        let drop = dropout.flatMap { $0.isActive ? $0 : nil }
        let dst = SendablePointer(dqkv), dc = SendablePointer(UnsafeMutablePointer(mutating: dctx))
        let probs = SendablePointer(UnsafeMutablePointer(mutating: att))
        let src = SendablePointer(UnsafeMutablePointer(mutating: qkv)), sc = SendablePointer(scratch)
        Parallel.forEachChunk(B * NH, chunks: T * T * hs < 1 << 14 ? 1 : Parallel.workers) { worker, range in
            let weightsScratch = sc.pointer + worker * 2 * T * T, dp = weightsScratch + T * T
            for pair in range {
                let b = pair / NH, h = pair % NH
                let q = src.pointer + b * T * 3 * C + h * hs, k = q + C, v = q + 2 * C
                let dq = dst.pointer + b * T * 3 * C + h * hs, dk = dq + C, dv = dq + 2 * C
                let dOut = dc.pointer + b * T * C + h * hs
                let p = probs.pointer + pair * T * T
                let weights = valuesBackward(dv: dv, dp: dp, dctx: dOut, v: v, probs: p, weightsScratch: weightsScratch,
                                             dropout: drop, first: pair * T * T, seq: T, headSize: hs, channels: C)
                if drop != nil {
                    for i in 0..<T {
                        softmaxDropoutBackwardRow(dp + i * T, probs: p + i * T, dropped: weights + i * T, count: T)
                    }
                } else {
                    for i in 0..<T { softmaxBackwardRow(dp + i * T, probs: p + i * T, count: T) }
                }
                // dq = s · dS · k, dk = s · dSᵀ · q
                sgemm(transA: false, transB: false, m: T, n: hs, k: T, alpha: scale,
                      a: dp, lda: T, b: k, ldb: 3 * C, beta: 0, c: dq, ldc: 3 * C)
                sgemm(transA: true, transB: false, m: T, n: hs, k: T, alpha: scale,
                      a: dp, lda: T, b: q, ldb: 3 * C, beta: 0, c: dk, ldc: 3 * C)
            }
        }
    }

    /// One (batch, head) of an attention backward, from the context back to the probabilities: P'
    /// (the probabilities as the forward applied them, regenerated into `weightsScratch` under
    /// dropout, else `probs`), dv (T,hs) = P'ᵀ·dctx and dP' (T,T) = dctx·vᵀ into dp. dv, dctx and
    /// v are head slices of their (B,T,·) buffers: dv and v with row stride 3C, dctx with C.
    /// Returns P'. Shared by `attentionBackward` and `relativeAttentionBackward`.
    @inline(__always)
    static func valuesBackward(
        dv: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>,
        v: UnsafePointer<Float>, probs: UnsafePointer<Float>, weightsScratch: UnsafeMutablePointer<Float>,
        dropout: DropoutMask?, first: Int, seq T: Int, headSize hs: Int, channels C: Int
    ) -> UnsafePointer<Float> {
        var weights = probs
        if let dropout {
            dropoutApply(out: weightsScratch, inp: probs, count: T * T, first: first, mask: dropout)
            weights = UnsafePointer(weightsScratch)
        }
        // dv (T,hs) = P'ᵀ (T,T) · dctx (T,hs)
        sgemm(transA: true, transB: false, m: T, n: hs, k: T, alpha: 1,
              a: weights, lda: T, b: dctx, ldb: C, beta: 0, c: dv, ldc: 3 * C)
        // dP' (T,T) = dctx (T,hs) · vᵀ
        sgemm(transA: false, transB: true, m: T, n: T, k: hs, alpha: 1,
              a: dctx, lda: C, b: v, ldb: 3 * C, beta: 0, c: dp, ldc: T)
        return weights
    }

    /// row (N) ← probs ⊙ (row − Σ probs ⊙ row), in place: dscores from dprobs.
    @inline(__always)
    static func softmaxBackwardRow(_ row: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, count: Int) {
        var acc = Vec16(repeating: 0)
        var tail: Float = 0
        var j = 0
        while j + 16 <= count { acc += load16(row + j) * load16(probs + j); j += 16 }
        while j < count { tail += row[j] * probs[j]; j += 1 }
        let dot = laneSum(acc) + tail
        let dv = Vec16(repeating: dot)
        j = 0
        while j + 16 <= count { store16(load16(probs + j) * (load16(row + j) - dv), row + j); j += 16 }
        while j < count { row[j] = probs[j] * (row[j] - dot); j += 1 }
    }

    /// row (N) ← dropped ⊙ row − probs · Σ dropped ⊙ row, in place: dscores from the gradient of
    /// the dropped probabilities (`dropped` = probs after dropout).
    @inline(__always)
    static func softmaxDropoutBackwardRow(
        _ row: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, dropped: UnsafePointer<Float>, count: Int
    ) {
        var acc = Vec16(repeating: 0)
        var tail: Float = 0
        var j = 0
        while j + 16 <= count {
            let g = load16(row + j) * load16(dropped + j)
            store16(g, row + j)
            acc += g
            j += 16
        }
        while j < count { row[j] *= dropped[j]; tail += row[j]; j += 1 }
        let dot = laneSum(acc) + tail
        let dv = Vec16(repeating: dot)
        j = 0
        while j + 16 <= count { store16(load16(row + j) - load16(probs + j) * dv, row + j); j += 16 }
        while j < count { row[j] -= probs[j] * dot; j += 1 }
    }
}
