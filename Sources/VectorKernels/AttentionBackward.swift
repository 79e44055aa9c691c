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
                let head = attentionHeadSlices(pair: pair, heads: NH, seq: T, channels: C, qkv: src.pointer,
                                            dqkv: dst.pointer, dctx: dc.pointer, att: probs.pointer)
                let p = head.probs
                let weights = valuesBackward(head, dp: dp, weightsScratch: weightsScratch, dropout: drop, seq: T)
                if drop != nil {
                    for i in 0..<T {
                        softmaxDropoutBackwardRow(dp + i * T, probs: p + i * T, dropped: weights + i * T, count: T)
                    }
                } else {
                    for i in 0..<T { softmaxBackwardRow(dp + i * T, probs: p + i * T, count: T) }
                }
                queriesKeysBackward(head, dScores: dp, scale: scale, seq: T)
            }
        }
    }

    /// One (batch, head) of an attention backward, from the context back to the probabilities: P'
    /// (the probabilities as the forward applied them, regenerated into `weightsScratch` under
    /// dropout, else the head's saved probabilities), dv (T,hs) = P'ᵀ·dctx and dP' (T,T) =
    /// dctx·vᵀ into dp. Returns P'. Shared by `attentionBackward` and `relativeAttentionBackward`.
    @inline(__always)
    static func valuesBackward(
        _ head: AttentionHeadSlices, dp: UnsafeMutablePointer<Float>, weightsScratch: UnsafeMutablePointer<Float>,
        dropout: DropoutMask?, seq T: Int
    ) -> UnsafePointer<Float> {
        let C = head.channels, hs = head.headSize
        var weights = head.probs
        if let dropout {
            dropoutApply(out: weightsScratch, inp: head.probs, count: T * T, first: head.pair * T * T, mask: dropout)
            weights = UnsafePointer(weightsScratch)
        }
        // dv (T,hs) = P'ᵀ (T,T) · dctx (T,hs)
        sgemm(transA: true, transB: false, m: T, n: hs, k: T, alpha: 1,
              a: weights, lda: T, b: head.dctx, ldb: C, beta: 0, c: head.dv, ldc: 3 * C)
        // dP' (T,T) = dctx (T,hs) · vᵀ
        sgemm(transA: false, transB: true, m: T, n: T, k: hs, alpha: 1,
              a: head.dctx, lda: C, b: head.v, ldb: 3 * C, beta: 0, c: dp, ldc: T)
        return weights
    }

    /// dq = s · dS · k and dk = s · dSᵀ · q (written, not accumulated) for one (batch, head), from
    /// the scores' gradient dS (T,T). Shared by `attentionBackward` and `relativeAttentionBackward`.
    @inline(__always)
    static func queriesKeysBackward(_ head: AttentionHeadSlices, dScores dS: UnsafePointer<Float>, scale: Float, seq T: Int) {
        let ld = 3 * head.channels, hs = head.headSize
        sgemm(transA: false, transB: false, m: T, n: hs, k: T, alpha: scale,
              a: dS, lda: T, b: head.k, ldb: ld, beta: 0, c: head.dq, ldc: ld)
        sgemm(transA: true, transB: false, m: T, n: hs, k: T, alpha: scale,
              a: dS, lda: T, b: head.q, ldb: ld, beta: 0, c: head.dk, ldc: ld)
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

/// One (batch, head) pair's slices of the attention buffers, for the backward passes: q, k, v in
/// the fused (B,T,3C) q|k|v buffer and dq, dk, dv in its gradient (rows 3C apart), the context's
/// gradient (rows C apart, heads merged) and the pair's saved (T,T) probabilities. A tuple, not a
/// struct: a struct's metadata brings a compiler helper every module emits as a weak symbol,
/// which the kernels' builds must not share (VectorPathTests).
typealias AttentionHeadSlices = (
    pair: Int, channels: Int, headSize: Int,
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
    dctx: UnsafePointer<Float>, probs: UnsafePointer<Float>
)

extension SIMDKernels {
    @inline(__always)
    static func attentionHeadSlices(
        pair: Int, heads NH: Int, seq T: Int, channels C: Int, qkv: UnsafePointer<Float>,
        dqkv: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>, att: UnsafePointer<Float>
    ) -> AttentionHeadSlices {
        let b = pair / NH, hs = C / NH, column = pair % NH * hs
        let q = qkv + b * T * 3 * C + column, dq = dqkv + b * T * 3 * C + column
        return (pair: pair, channels: C, headSize: hs, q: q, k: q + C, v: q + 2 * C,
                dq: dq, dk: dq + C, dv: dq + 2 * C, dctx: dctx + b * T * C + column, probs: att + pair * T * T)
    }
}
