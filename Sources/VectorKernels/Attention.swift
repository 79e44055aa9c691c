import KernelCore

// Multi-head self-attention core: softmax(q·kᵀ/√d + mask) · v for every (batch, head),
// as strided sgemm calls straight on the fused qkv buffer (no head split/merge copies).

extension SIMDKernels {
    /// ctx is (B,T,C), heads side by side as HF's context_layer after its permute/reshape.
    /// att is (B,NH,T,T) softmax probabilities when `saveProbabilities` (the backward needs them),
    /// otherwise scratch of `Parallel.workers`·T·T floats.
    /// qkv is (B,T,3C), each row [q | k | v]; head h owns columns h·d..<(h+1)·d of each part.
    /// mask is (B,T): HF's additive key mask, 0 to attend, `-Float.greatestFiniteMagnitude` to not.
    /// Training: `dropout` (when active) drops attention probabilities before they weight v; the
    /// dropped copy goes to `dropped` (`Parallel.workers`·T·T scratch) so `att` keeps the softmax
    /// output the backward needs. Mask element of (b,h,i,j) is ((b·NH + h)·T + i)·T + j.
    /// The fused kernel (`attentionHeadFused`) runs whenever it has scratch — `att` in inference,
    /// `dropped` in training — and the head size allows; `allowFused: false` forces the two-sgemm
    /// path (tests compare the two).
    /// `qkvBias` (3C), when given: qkv holds the q|k|v product without its bias (inference), and the
    /// bias is added here — by the fused kernel as it packs q, k and v, or, on the two-sgemm path,
    /// into qkv in place first.
    public static func attentionForward(
        ctx: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, mask: UnsafePointer<Float>,
        batch: Int, seq: Int, channels: Int, heads: Int, saveProbabilities: Bool,
        dropout: DropoutMask? = nil, dropped: UnsafeMutablePointer<Float>? = nil, allowFused: Bool = true,
        qkvBias: UnsafePointer<Float>? = nil
    ) {
        let drop = dropout.flatMap { $0.isActive ? $0 : nil }
        let droppedScratch = dropped.map { SendablePointer($0) }
        let B = batch, T = seq, C = channels, NH = heads, hs = C / heads
        let scale = 1 / Float(hs).squareRoot()
        let out = SendablePointer(ctx), probs = SendablePointer(att)
        let src = SendablePointer(UnsafeMutablePointer(mutating: qkv))
        let m = SendablePointer(UnsafeMutablePointer(mutating: mask))
        let chunks = T * T * hs < 1 << 14 ? 1 : Parallel.workers
        // The fused kernel, in the T·T scratch each worker has: `att` when it need not keep the
        // probabilities (inference), else the dropped-probabilities scratch (training).
        let fusedScratch = !saveProbabilities && drop == nil ? SendablePointer(att) : droppedScratch
        if allowFused, let fusedScratch, hs % 16 == 0,
           let rowBlock = fusedAttentionRowBlock(seq: T, headSize: hs, capacity: T * T) {
            // One (batch, head) pair a tile: each pair's arithmetic is the same whoever runs it.
            @inline(__always) func head(_ worker: Int, _ pair: Int) {
                let b = pair / NH, h = pair % NH
                let q = src.pointer + b * T * 3 * C + h * hs
                attentionHeadFused(out: out.pointer + b * T * C + h * hs, ldo: C, q: q, k: q + C, v: q + 2 * C, ld: 3 * C,
                                   mask: m.pointer + b * T, seq: T, headSize: hs, scale: scale,
                                   scratch: fusedScratch.pointer + worker * T * T, rowBlock: rowBlock,
                                   bias: qkvBias.map { $0 + h * hs }, biasStride: C,
                                   probabilities: saveProbabilities ? probs.pointer + pair * T * T : nil,
                                   dropout: drop, dropoutFirst: pair * T * T)
            }
            if chunks == 1 {
                for pair in 0..<(B * NH) { head(0, pair) }
            } else {
                Parallel.forEachTile(B * NH, head)
            }
            return
        }
        if let qkvBias { addRowBias(src.pointer, qkvBias, rows: B * T, columns: 3 * C) }
        Parallel.forEachChunk(B * NH, chunks: chunks) { worker, range in
            for pair in range {
                let b = pair / NH, h = pair % NH
                let q = src.pointer + b * T * 3 * C + h * hs
                let k = q + C, v = q + 2 * C
                let s = probs.pointer + (saveProbabilities ? pair : worker) * T * T
                // scores (T,T) = scale · q (T,hs) · kᵀ, reading q and k with row stride 3C
                sgemm(transA: false, transB: true, m: T, n: T, k: hs, alpha: scale,
                      a: q, lda: 3 * C, b: k, ldb: 3 * C, beta: 0, c: s, ldc: T)
                for i in 0..<T {
                    maskedSoftmaxRow(s + i * T, mask: m.pointer + b * T, count: T)
                }
                valuesForward(ctx: out.pointer + b * T * C + h * hs, probs: s, v: v, dropout: drop,
                              droppedScratch: droppedScratch.map { $0.pointer + worker * T * T }, first: pair * T * T,
                              seq: T, headSize: hs, channels: C)
            }
        }
    }

    /// One (batch, head) of an attention forward, from the probabilities to the context: P' (the
    /// probabilities, or under dropout their dropped copy in `droppedScratch`: the mask is
    /// regenerated in the backward), then ctx (T,hs) = P' · v. ctx and v are head slices of their
    /// (B,T,·) buffers: ctx with row stride C, v with 3C. Shared by `attentionForward` and
    /// `relativeAttentionForward` (the mirror of `valuesBackward`).
    @inline(__always)
    static func valuesForward(
        ctx: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, v: UnsafePointer<Float>,
        dropout: DropoutMask?, droppedScratch: UnsafeMutablePointer<Float>?, first: Int,
        seq T: Int, headSize hs: Int, channels C: Int
    ) {
        var weights = probs
        if let dropout, let droppedScratch {
            dropoutApply(out: droppedScratch, inp: probs, count: T * T, first: first, mask: dropout)
            weights = UnsafePointer(droppedScratch)
        }
        sgemm(transA: false, transB: false, m: T, n: hs, k: T, alpha: 1,
              a: weights, lda: T, b: v, ldb: 3 * C, beta: 0, c: ctx, ldc: C)
    }

    /// row (N) ← softmax(row + mask) in place. A masked key's score becomes ≈ -FLT_MAX, so its
    /// exp is exactly 0 as in HF; a row with every key masked comes out uniform, as in HF's eager path.
    @inline(__always)
    static func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        var maxV = Vec16(repeating: -.infinity)
        var maxT = -Float.infinity
        var j = 0
        while j + 16 <= count {
            let v = load16(row + j) + load16(mask + j)
            store16(v, row + j)
            maxV = vmax(maxV, v)
            j += 16
        }
        while j < count { row[j] += mask[j]; maxT = Swift.max(maxT, row[j]); j += 1 }
        let mx = Swift.max(horizontalMax(maxV), maxT)
        let mv = Vec16(repeating: mx)
        var sumV = Vec16(repeating: 0)
        j = 0
        while j + 16 <= count {
            let e = VectorMath.exp(load16(row + j) - mv)
            store16(e, row + j)
            sumV += e
            j += 16
        }
        var sumT: Float = 0
        while j < count {
            let e = VectorMath.exp(Vec16(repeating: row[j] - mx))[0]
            row[j] = e
            sumT += e
            j += 1
        }
        let inv = 1 / (laneSum(sumV) + sumT)
        let iv = Vec16(repeating: inv)
        j = 0
        while j + 16 <= count { store16(load16(row + j) * iv, row + j); j += 16 }
        while j < count { row[j] *= inv; j += 1 }
    }
}
