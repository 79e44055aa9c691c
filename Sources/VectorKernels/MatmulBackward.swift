import KernelCore

// Backward of `matmulForward` (out = inp · weightᵀ + bias), three sgemm-shaped pieces:
//   dinp    (N,C)  = dout (N,OC) · weight (OC,C)      rows split over the workers
//   dweight (OC,C) += doutᵀ · inp                     output rows split over the workers
//   dbias   (OC)   += column sums of dout              columns split over the workers
// Every split is static and each worker owns its outputs, so results do not depend on
// thread timing: the same inputs give bit-identical gradients.
// bf16 training (`bf16:` operands): dout and inp rounded once each (all workers, before the
// products), the weight by the caller; both products bf16 × bf16 → fp32 into the fp32
// gradients; dbias summed from the fp32 dout.

extension SIMDKernels {
    /// dinp is (N,C) or nil (the embeddings' input needs none); dout is (N,OC); inp is (N,C);
    /// weight is (OC,C); dweight (OC,C) and dbias (OC) are accumulated into (+=).
    /// `accumulateInput`: dinp += ... instead of dinp = ... (a residual branch already wrote there).
    /// `throughActivation`: inp was act(pre) — dinp continues back through it, dinp = (dout · weight)
    /// ⊙ act'(pre), applied by the worker that computed those rows, right after its product.
    /// `bf16`: both products in bfloat16.
    public static func matmulBackward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows: Int, inFeatures: Int, outFeatures: Int, accumulateInput: Bool = false,
        throughActivation: (pre: UnsafePointer<Float>, kind: Activation)? = nil, bf16: BF16Operands? = nil
    ) {
        let N = rows, C = inFeatures, OC = outFeatures
        if let bf16 {
            convertToBF16(out: bf16.gradient, inp: dout, count: N * OC)
            convertToBF16(out: bf16.input, inp: inp, count: N * C)
        }
        let d = SendablePointer(UnsafeMutablePointer(mutating: dout))
        let x = SendablePointer(UnsafeMutablePointer(mutating: inp))
        let w = SendablePointer(UnsafeMutablePointer(mutating: weight))
        let dw = SendablePointer(dweight)
        let chunks = gemmChunks(rows: N, inFeatures: C, outFeatures: OC)
        if let dinp {
            let di = SendablePointer(dinp)
            let act = throughActivation.map { (pre: SendablePointer(UnsafeMutablePointer(mutating: $0.pre)), kind: $0.kind) }
            @inline(__always) func product(_ rows: Range<Int>) {
                if let bf16 {
                    gemmBF16(transA: false, transB: false, m: rows.count, n: C, k: OC, alpha: 1,
                             a: bf16.gradient + rows.lowerBound * OC, lda: OC, b: bf16.weight, ldb: C,
                             beta: accumulateInput ? 1 : 0, c: di.pointer + rows.lowerBound * C, ldc: C)
                    return
                }
                sgemm(transA: false, transB: false, m: rows.count, n: C, k: OC, alpha: 1,
                      a: d.pointer + rows.lowerBound * OC, lda: OC, b: w.pointer, ldb: C,
                      beta: accumulateInput ? 1 : 0, c: di.pointer + rows.lowerBound * C, ldc: C)
            }
            Parallel.forEachChunk(N, chunks: chunks) { _, range in
                product(range)
                guard let act else { return }
                // One product per worker, then the activation's backward over its rows: smaller
                // pieces (to keep each in cache for this pass) make oneDNN pack the weights once per
                // piece, which costs more than the cache misses it saves.
                let offset = range.lowerBound * C
                activationBackwardSpan(dinp: di.pointer + offset, dout: di.pointer + offset, pre: act.pre.pointer + offset,
                                       count: range.count * C, kind: act.kind)
            }
        }
        // dweight rows oc..<oc' need dout's columns oc..<oc': a column slice of a row-major matrix.
        Parallel.forEachChunk(OC, chunks: OC < 2 * Parallel.workers ? 1 : chunks) { _, range in
            if let bf16 {
                gemmBF16(transA: true, transB: false, m: range.count, n: C, k: N, alpha: 1,
                         a: bf16.gradient + range.lowerBound, lda: OC, b: bf16.input, ldb: C,
                         beta: 1, c: dw.pointer + range.lowerBound * C, ldc: C)
                return
            }
            sgemm(transA: true, transB: false, m: range.count, n: C, k: N, alpha: 1,
                  a: d.pointer + range.lowerBound, lda: OC, b: x.pointer, ldb: C,
                  beta: 1, c: dw.pointer + range.lowerBound * C, ldc: C)
        }
        if let dbias { biasBackward(dbias: dbias, dout: dout, rows: N, outFeatures: OC) }
    }

    /// dbias (OC) += Σ_rows dout (N,OC). Columns in blocks of 16 split over the workers; each
    /// worker sums its columns over all rows in a fixed order.
    static func biasBackward(dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, rows: Int, outFeatures: Int) {
        let OC = outFeatures
        let db = SendablePointer(dbias), d = SendablePointer(UnsafeMutablePointer(mutating: dout))
        let blocks = (OC + 15) / 16
        let chunks = rows * OC < 1 << 15 ? 1 : Parallel.workers
        Parallel.forEachChunk(blocks, chunks: chunks) { _, range in
            for block in range {
                let c0 = block * 16
                if c0 + 16 <= OC {
                    var acc = Vec16(repeating: 0)
                    for r in 0..<rows { acc += load16(d.pointer + r * OC + c0) }
                    store16(load16(db.pointer + c0) + acc, db.pointer + c0)
                } else {
                    for c in c0..<OC {
                        var s: Float = 0
                        for r in 0..<rows { s += d.pointer[r * OC + c] }
                        db.pointer[c] += s
                    }
                }
            }
        }
    }
}
