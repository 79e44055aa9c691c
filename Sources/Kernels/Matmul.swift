// Linear layers through sgemm (oneDNN). Weights stay in PyTorch's Linear layout (OC,C), read
// as a transposed operand: no copies, and the gradient buffer uses the same layout.
// Rows (or, for a few rows, output columns) are split over the workers; each worker runs one
// single-threaded sgemm on its share (oneDNN sees it is inside a parallel region).

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
        Parallel.forEachChunk(outFeatures / 16, chunks: chunks) { _, blocks in
            linearColumns(out: o.pointer, inp: x.pointer, weight: weight, bias: bias, rows: rows,
                          columns: columnRange(blocks, outFeatures), inFeatures: inFeatures, outFeatures: outFeatures)
        }
        return
    }
    Parallel.forEachChunk(rows, chunks: chunks) { _, range in
        linearRows(out: o.pointer, inp: x.pointer, weight: weight, bias: bias,
                   range: range, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}

/// The feed-forward up-projection with its activation fused per chunk of rows (while the
/// chunk is still in cache): pre = inp · weightᵀ + bias, out = act(pre).
/// pre and out are (N,OC) (pre is kept for the backward pass); inp is (N,C); weight (OC,C).
public func matmulActivationForward(
    pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows: Int, inFeatures: Int, outFeatures: Int, activation: Activation
) {
    let p = SendablePointer(pre), o = SendablePointer(out)
    let x = SendablePointer(UnsafeMutablePointer(mutating: inp))
    let chunks = gemmChunks(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    if splitColumns(rows: rows, outFeatures: outFeatures) {
        Parallel.forEachChunk(outFeatures / 16, chunks: chunks) { _, blocks in
            let cols = columnRange(blocks, outFeatures)
            linearColumns(out: p.pointer, inp: x.pointer, weight: weight, bias: bias, rows: rows,
                          columns: cols, inFeatures: inFeatures, outFeatures: outFeatures)
            for r in 0..<rows {
                let offset = r * outFeatures + cols.lowerBound
                activationForward(out: o.pointer + offset, inp: p.pointer + offset, count: cols.count, kind: activation)
            }
        }
        return
    }
    Parallel.forEachChunk(rows, chunks: chunks) { _, range in
        forEachActivationPiece(of: range) { piece in
            linearRows(out: p.pointer, inp: x.pointer, weight: weight, bias: bias,
                       range: piece, inFeatures: inFeatures, outFeatures: outFeatures)
            activationForward(out: o.pointer + piece.lowerBound * outFeatures, inp: p.pointer + piece.lowerBound * outFeatures,
                              count: piece.count * outFeatures, kind: activation)
        }
    }
}

/// Splits a worker's rows into pieces of ≤ 128 for a product fused with an element-wise
/// activation (forward or backward): each piece's output is still in L2 when the activation
/// reads it, instead of another pass over the whole (N, 4C) buffer.
@inline(__always)
func forEachActivationPiece(of range: Range<Int>, _ body: (Range<Int>) -> Void) {
    var lo = range.lowerBound
    while lo < range.upperBound {
        let hi = min(lo + 128, range.upperBound)
        body(lo..<hi)
        lo = hi
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
