// Linear layers through sgemm (oneDNN). Weights stay in PyTorch's Linear layout (OC,C), read
// as a transposed operand: no copies, and the gradient buffer uses the same layout.
// Rows (or, for a few rows, output columns) are split over the workers; each worker runs one
// single-threaded sgemm on its share (oneDNN sees it is inside a parallel region), the shares
// sized by each core's recent speed (`Parallel.forEachShare`): row pieces of 16 rows or more,
// cut at multiples of 16, and column pieces of 16-column blocks give bit-identical outputs
// wherever the cut falls (oneDNN takes another path for fewer than 16 rows).

/// out is (N,OC); inp is (N,C); weight is (OC,C); bias is (OC) or nil.
/// out = inp · weightᵀ + bias (bias broadcast first, then the product accumulated onto it,
/// as torch.addmm does).
public func matmulForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, inFeatures: Int, outFeatures: Int
) {
    let o = SendablePointer(out)
    forEachLinearBlock(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures) { rows, columns in
        linearBlock(out: o.pointer, inp: inp, weight: weight, bias: bias,
                    rows: rows, columns: columns, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}

/// The feed-forward up-projection with its bias and activation applied by the worker that
/// computed the rows, one row at a time while the row is in L1 (one fused pass): pre = inp · weightᵀ + bias,
/// out = act(pre). The product runs with beta = 0 (no bias broadcast into the output first:
/// one pass over (N,OC) less). pre and out are (N,OC) and may be the same buffer (inference keeps
/// no pre-activation; training keeps it for the backward pass); inp is (N,C); weight (OC,C).
public func matmulActivationForward(
    pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, inFeatures: Int, outFeatures: Int, activation: Activation
) {
    let p = SendablePointer(pre), o = SendablePointer(out)
    forEachLinearBlock(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures) { rows, columns in
        linearBlock(out: p.pointer, inp: inp, weight: weight, bias: nil,
                    rows: rows, columns: columns, inFeatures: inFeatures, outFeatures: outFeatures)
        for r in rows {
            let offset = r * outFeatures + columns.lowerBound
            if let bias {
                biasActivationForward(pre: p.pointer + offset, out: o.pointer + offset, bias: bias + columns.lowerBound,
                                      count: columns.count, kind: activation)
            } else {
                activationForward(out: o.pointer + offset, inp: p.pointer + offset, count: columns.count, kind: activation)
            }
        }
    }
}

/// Runs `body(rows, columns)` once per worker share of an (rows × outFeatures) product: by
/// output columns (16-column blocks, all rows) when rows are few — each worker then packs only
/// its share of the weights, which dominates a batch of one window — else by rows (pieces of
/// 16 or more, cut at multiples of 16). Tiny products run inline as one block.
@inline(__always)
private func forEachLinearBlock(
    rows: Int, inFeatures: Int, outFeatures: Int, _ body: (Range<Int>, Range<Int>) -> Void
) {
    let chunks = gemmChunks(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    if splitColumns(rows: rows, outFeatures: outFeatures) {
        Parallel.forEachShare(outFeatures / 16, chunks: chunks) { _, blocks in
            body(0..<rows, columnRange(blocks, outFeatures))
        }
    } else {
        Parallel.forEachShare(rows, granule: 16, minimum: 16, chunks: chunks) { _, range in
            body(range, 0..<outFeatures)
        }
    }
}

/// The block (rows, columns) of out = inp · weightᵀ + bias, on the calling thread: one sgemm
/// over those rows of inp and the weight rows of those columns (contiguous in (OC,C)).
@inline(__always)
private func linearBlock(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Range<Int>, columns: Range<Int>, inFeatures: Int, outFeatures: Int
) {
    let o = out + rows.lowerBound * outFeatures + columns.lowerBound
    if let bias {
        for r in 0..<rows.count {
            (o + r * outFeatures).update(from: bias + columns.lowerBound, count: columns.count)
        }
    }
    sgemm(transA: false, transB: true, m: rows.count, n: columns.count, k: inFeatures,
          alpha: 1, a: inp + rows.lowerBound * inFeatures, lda: inFeatures,
          b: weight + columns.lowerBound * inFeatures, ldb: inFeatures,
          beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures)
}

/// Split by output columns (in blocks of 16) when there are few rows and enough columns.
@inline(__always)
func splitColumns(rows: Int, outFeatures: Int) -> Bool {
    rows <= 1024 && outFeatures % 16 == 0 && outFeatures >= 32 * Parallel.workers
}

/// Blocks of 16 columns → column range; the last block also takes any remainder.
@inline(__always)
func columnRange(_ blocks: Range<Int>, _ outFeatures: Int) -> Range<Int> {
    let hi = blocks.upperBound == outFeatures / 16 ? outFeatures : blocks.upperBound * 16
    return (blocks.lowerBound * 16)..<hi
}

/// One chunk per worker when the product is big enough to share; tiny products run inline.
@inline(__always)
func gemmChunks(rows: Int, inFeatures: Int, outFeatures: Int) -> Int {
    rows * inFeatures * outFeatures < 1 << 18 || rows < 2 * Parallel.workers ? 1 : Parallel.workers
}
