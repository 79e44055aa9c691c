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
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: inp))
    let chunks = gemmChunks(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    if splitColumns(rows: rows, outFeatures: outFeatures) {
        Parallel.forEachShare(outFeatures / 16, chunks: chunks) { _, blocks in
            linearColumns(out: o.pointer, inp: x.pointer, weight: weight, bias: bias, rows: rows,
                          columns: columnRange(blocks, outFeatures), inFeatures: inFeatures, outFeatures: outFeatures)
        }
        return
    }
    Parallel.forEachShare(rows, granule: 16, minimum: 16, chunks: chunks) { _, range in
        linearRows(out: o.pointer, inp: x.pointer, weight: weight, bias: bias,
                   range: range, inFeatures: inFeatures, outFeatures: outFeatures)
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
    let x = SendablePointer(UnsafeMutablePointer(mutating: inp))
    let chunks = gemmChunks(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    @inline(__always) func finish(_ rows: Range<Int>, _ columns: Range<Int>) {
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
    if splitColumns(rows: rows, outFeatures: outFeatures) {
        Parallel.forEachShare(outFeatures / 16, chunks: chunks) { _, blocks in
            let cols = columnRange(blocks, outFeatures)
            linearColumns(out: p.pointer, inp: x.pointer, weight: weight, bias: nil, rows: rows,
                          columns: cols, inFeatures: inFeatures, outFeatures: outFeatures)
            finish(0..<rows, cols)
        }
        return
    }
    Parallel.forEachShare(rows, granule: 16, minimum: 16, chunks: chunks) { _, range in
        linearRows(out: p.pointer, inp: x.pointer, weight: weight, bias: nil,
                   range: range, inFeatures: inFeatures, outFeatures: outFeatures)
        finish(range, 0..<outFeatures)
    }
}

/// Rows `range` of out = inp · weightᵀ + bias, on the calling thread.
@inline(__always)
private func linearRows(
    out: UnsafeMutablePointer<Float>, inp: UnsafeMutablePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    range: Range<Int>, inFeatures: Int, outFeatures: Int
) {
    let o = out + range.lowerBound * outFeatures
    if let bias {
        for r in 0..<range.count {
            (o + r * outFeatures).update(from: bias, count: outFeatures)
        }
    }
    sgemm(transA: false, transB: true, m: range.count, n: outFeatures, k: inFeatures,
          alpha: 1, a: inp + range.lowerBound * inFeatures, lda: inFeatures,
          b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures)
}

/// Columns `columns` of out = inp · weightᵀ + bias (all rows), on the calling thread: the
/// weight rows for those columns are contiguous, so each worker packs only its share of the
/// weights. Pays when rows are few (a batch of one window) and weight packing dominates.
@inline(__always)
private func linearColumns(
    out: UnsafeMutablePointer<Float>, inp: UnsafeMutablePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, columns: Range<Int>, inFeatures: Int, outFeatures: Int
) {
    let o = out + columns.lowerBound
    if let bias {
        for r in 0..<rows {
            (o + r * outFeatures).update(from: bias + columns.lowerBound, count: columns.count)
        }
    }
    sgemm(transA: false, transB: true, m: rows, n: columns.count, k: inFeatures,
          alpha: 1, a: inp, lda: inFeatures, b: weight + columns.lowerBound * inFeatures, ldb: inFeatures,
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
