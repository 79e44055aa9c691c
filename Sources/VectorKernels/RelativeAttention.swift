import Foundation
import KernelCore

// DeBERTa's disentangled self-attention core, per (batch, head), as strided sgemm calls on the
// fused q|k|v buffer like `attentionForward`. With s = 1/√(d·factor) (factor = 1 + c2p + p2c),
// r(i,j) the bucketed relative position of query i to key j (an index into the 2S position
// rows), pk / pq the layer's key / query projections of the relative embeddings:
//   score(i,j) = s·q_i·k_j  +  s·q_i·pk_r(i,j)  (c2p)  +  s·k_j·pq_r(i,j)  (p2c)
// computed as c2p = q·pkᵀ (T × 2S) and p2c = k·pqᵀ (T × 2S), then gathered at r(i,j).
// Masking as DeBERTa's `masked_fill`: a padding key's score is replaced (exp → 0); a padding
// query's whole row is replaced, so its probabilities are uniform and no gradient flows
// through them.
// Backward, with dS the scores' gradient (softmax backward, padding query rows zeroed),
// G[i,r] = Σ_{j: r(i,j)=r} dS[i,j] and H[j,r] = Σ_{i: r(i,j)=r} dS[i,j]:
//   dq = s·dS·k + s·G·pk     dk = s·dSᵀ·q + s·H·pq     dpk += s·Gᵀ·q     dpq += s·Hᵀ·k

extension SIMDKernels {
    /// ctx (B,T,C) ← attention over qkv (B,T,3C) with the relative terms. att: (B,NH,T,T) saved
    /// probabilities when `saveProbabilities`, else `Parallel.workers`·T·T scratch. mask: (B,T)
    /// additive key mask (0 or −FLT_MAX), which also marks padding queries. scratch:
    /// `relativeAttentionScratchCount`. dropout/dropped as in `attentionForward`.
    public static func relativeAttentionForward(
        ctx: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, positions: RelativeAttentionPositions, scratch: UnsafeMutablePointer<Float>,
        batch: Int, seq: Int, channels: Int, heads: Int, saveProbabilities: Bool,
        dropout: DropoutMask? = nil, dropped: UnsafeMutablePointer<Float>? = nil
    ) {
        let B = batch, T = seq, C = channels, NH = heads, hs = C / heads, R = positions.rows, s = positions.scale
        let drop = dropout.flatMap { $0.isActive ? $0 : nil }
        let out = SendablePointer(ctx), probs = SendablePointer(att), sc = SendablePointer(scratch)
        let src = SendablePointer(UnsafeMutablePointer(mutating: qkv))
        let m = SendablePointer(UnsafeMutablePointer(mutating: mask))
        let droppedScratch = dropped.map { SendablePointer($0) }
        let idx = SendablePointer(UnsafeMutablePointer(mutating: positions.index))
        let pk = positions.keys.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let pq = positions.queries.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        Parallel.forEachChunk(B * NH, chunks: T * T * hs < 1 << 14 ? 1 : Parallel.workers) { worker, range in
            let c2p = sc.pointer + worker * 2 * T * R, p2c = c2p + T * R
            for pair in range {
                let b = pair / NH, h = pair % NH
                let q = src.pointer + b * T * 3 * C + h * hs, k = q + C, v = q + 2 * C
                let scores = probs.pointer + (saveProbabilities ? pair : worker) * T * T
                sgemm(transA: false, transB: true, m: T, n: T, k: hs, alpha: s,
                      a: q, lda: 3 * C, b: k, ldb: 3 * C, beta: 0, c: scores, ldc: T)
                if let pk {
                    sgemm(transA: false, transB: true, m: T, n: R, k: hs, alpha: s,
                          a: q, lda: 3 * C, b: pk.pointer + h * hs, ldb: C, beta: 0, c: c2p, ldc: R)
                }
                if let pq {
                    sgemm(transA: false, transB: true, m: T, n: R, k: hs, alpha: s,
                          a: k, lda: 3 * C, b: pq.pointer + h * hs, ldb: C, beta: 0, c: p2c, ldc: R)
                }
                let keyMask = m.pointer + b * T
                for i in 0..<T {
                    let row = scores + i * T, r = idx.pointer + i * T
                    if keyMask[i] != 0 {  // a padding query: every score replaced, uniform weights
                        row.update(repeating: 1 / Float(T), count: T)
                        continue
                    }
                    if pk != nil { let c = c2p + i * R; for j in 0..<T { row[j] += c[Int(r[j])] } }
                    if pq != nil { for j in 0..<T { row[j] += p2c[j * R + Int(r[j])] } }
                    maskedSoftmaxRow(row, mask: keyMask, count: T)
                }
                valuesForward(ctx: out.pointer + b * T * C + h * hs, probs: scores, v: v, dropout: drop,
                              droppedScratch: droppedScratch.map { $0.pointer + worker * T * T }, first: pair * T * T,
                              seq: T, headSize: hs, channels: C)
            }
        }
    }


    /// dqkv (B,T,3C) written; dKeys / dQueries (2S,C) (the position projections' gradients)
    /// written; the rest as `attentionBackward`, with the forward's mask and positions.
    public static func relativeAttentionBackward(
        dqkv: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>?, dQueries: UnsafeMutablePointer<Float>?,
        dctx: UnsafePointer<Float>, att: UnsafePointer<Float>, qkv: UnsafePointer<Float>, mask: UnsafePointer<Float>,
        positions: RelativeAttentionPositions, scratch: UnsafeMutablePointer<Float>, dropout: DropoutMask?,
        batch: Int, seq: Int, channels: Int, heads: Int
    ) {
        let B = batch, T = seq, C = channels, NH = heads, hs = C / heads, R = positions.rows, s = positions.scale
        let drop = dropout.flatMap { $0.isActive ? $0 : nil }
        let dst = SendablePointer(dqkv), dc = SendablePointer(UnsafeMutablePointer(mutating: dctx))
        let probs = SendablePointer(UnsafeMutablePointer(mutating: att))
        let src = SendablePointer(UnsafeMutablePointer(mutating: qkv)), sc = SendablePointer(scratch)
        let m = SendablePointer(UnsafeMutablePointer(mutating: mask))
        let idx = SendablePointer(UnsafeMutablePointer(mutating: positions.index))
        let pk = positions.keys.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let pq = positions.queries.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let perWorker = 2 * T * T + 2 * T * R + 2 * R * C
        let chunks = T * T * hs < 1 << 14 ? 1 : Parallel.workers
        for w in 0..<Parallel.workers { (scratch + w * perWorker + 2 * T * T + 2 * T * R).update(repeating: 0, count: 2 * R * C) }
        Parallel.forEachChunk(B * NH, chunks: chunks) { worker, range in
            let base = sc.pointer + worker * perWorker
            let weightsScratch = base, dp = base + T * T, g = base + 2 * T * T, hm = g + T * R
            let dpk = hm + T * R, dpq = dpk + R * C
            for pair in range {
                let b = pair / NH, h = pair % NH
                let head = attentionHeadSlices(pair: pair, heads: NH, seq: T, channels: C, qkv: src.pointer,
                                            dqkv: dst.pointer, dctx: dc.pointer, att: probs.pointer)
                let q = head.q, k = head.k, dq = head.dq, dk = head.dk, p = head.probs
                let weights = valuesBackward(head, dp: dp, weightsScratch: weightsScratch, dropout: drop, seq: T)
                let keyMask = m.pointer + b * T
                for i in 0..<T {
                    if keyMask[i] != 0 { (dp + i * T).update(repeating: 0, count: T); continue }
                    if drop != nil {
                        softmaxDropoutBackwardRow(dp + i * T, probs: p + i * T, dropped: weights + i * T, count: T)
                    } else {
                        softmaxBackwardRow(dp + i * T, probs: p + i * T, count: T)
                    }
                }
                queriesKeysBackward(head, dScores: dp, scale: s, seq: T)
                if let pk {
                    g.update(repeating: 0, count: T * R)
                    for i in 0..<T {
                        let r = idx.pointer + i * T, row = dp + i * T, gi = g + i * R
                        for j in 0..<T { gi[Int(r[j])] += row[j] }
                    }
                    sgemm(transA: false, transB: false, m: T, n: hs, k: R, alpha: s,
                          a: g, lda: R, b: pk.pointer + h * hs, ldb: C, beta: 1, c: dq, ldc: 3 * C)
                    sgemm(transA: true, transB: false, m: R, n: hs, k: T, alpha: s,
                          a: g, lda: R, b: q, ldb: 3 * C, beta: 1, c: dpk + h * hs, ldc: C)
                }
                if let pq {
                    hm.update(repeating: 0, count: T * R)
                    for i in 0..<T {
                        let r = idx.pointer + i * T, row = dp + i * T
                        for j in 0..<T { hm[j * R + Int(r[j])] += row[j] }
                    }
                    sgemm(transA: false, transB: false, m: T, n: hs, k: R, alpha: s,
                          a: hm, lda: R, b: pq.pointer + h * hs, ldb: C, beta: 1, c: dk, ldc: 3 * C)
                    sgemm(transA: true, transB: false, m: R, n: hs, k: T, alpha: s,
                          a: hm, lda: R, b: k, ldb: 3 * C, beta: 1, c: dpq + h * hs, ldc: C)
                }
            }
        }
        // The workers' partial sums, added in worker order (deterministic for a worker count).
        for (out, offset) in [(dKeys, 2 * T * T + 2 * T * R), (dQueries, 2 * T * T + 2 * T * R + R * C)] {
            guard let out else { continue }
            out.update(from: scratch + offset, count: R * C)
            for w in 1..<Parallel.workers {
                addInPlace(out, scratch + w * perWorker + offset, count: R * C)
            }
        }
    }
}
