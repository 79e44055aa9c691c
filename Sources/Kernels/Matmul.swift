// Linear layers through sgemm (oneDNN). Weights stay in PyTorch's Linear layout (OC,C), read
// as a transposed operand: no copies, and the gradient buffer uses the same layout.
// A product is cut into tiles of rows (or, for a few rows, of output columns), each one
// single-threaded sgemm (oneDNN sees it is inside a parallel region), claimed by the workers as
// they free up (`Parallel.forEachTile`). The tiles' sizes follow from the shape and the worker
// count alone: oneDNN's sgemm picks its blocking of the sum over C from the sizes it is given
// (its AVX2 kernels round differently for another row or column count), so a cut that moved
// with timing would move the bits with it.

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

/// Runs `body(rows, columns)` once per tile of an (rows × outFeatures) product (`LinearTiles`).
@inline(__always)
private func forEachLinearBlock(
    rows: Int, inFeatures: Int, outFeatures: Int, _ body: (Range<Int>, Range<Int>) -> Void
) {
    let tiles = LinearTiles(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    Parallel.forEachTile(tiles.count) { _, tile in body(tiles.rows(tile), tiles.columns(tile)) }
}

/// How a product (rows × outFeatures, summing over inFeatures) is cut into tiles, from its
/// shape and `Parallel.workers` alone, never from timing: so the same inputs give the same
/// bits whichever worker runs which tile. By output columns (all rows; each worker packs only
/// its tiles' weights, which dominates a batch of one window) when rows are few, else by rows;
/// `tilesPerWorker` tiles a worker, cut at multiples of 16; tiny products are one tile.
public struct LinearTiles {
    /// Two tiles a worker: a worker that finishes early takes another's second tile, so a core
    /// slowed by its neighbours on a virtual machine costs less than with one fixed half each.
    public static let tilesPerWorker = 2

    public let rows: Int, outFeatures: Int
    /// Rows and columns of every tile but the last along its axis (the last takes the rest).
    public let tileRows: Int, tileColumns: Int

    public init(rows: Int, inFeatures: Int, outFeatures: Int, workers: Int = Parallel.workers) {
        self.rows = rows
        self.outFeatures = outFeatures
        let pieces = workers * Self.tilesPerWorker
        @inline(__always) func cut(_ n: Int) -> Int { max(16, ((n + pieces - 1) / pieces + 15) / 16 * 16) }
        if gemmChunks(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, workers: workers) == 1 {
            (tileRows, tileColumns) = (max(rows, 1), max(outFeatures, 1))
        } else if rows <= 1024 && outFeatures % 16 == 0 && outFeatures >= 32 * workers {
            (tileRows, tileColumns) = (rows, cut(outFeatures))
        } else {
            (tileRows, tileColumns) = (cut(rows), max(outFeatures, 1))
        }
    }

    public var rowTiles: Int { (rows + tileRows - 1) / tileRows }
    public var columnTiles: Int { (outFeatures + tileColumns - 1) / tileColumns }
    public var count: Int { rowTiles * columnTiles }

    @inline(__always) public func rows(_ tile: Int) -> Range<Int> {
        let r = tile / columnTiles * tileRows
        return r ..< min(r + tileRows, rows)
    }

    @inline(__always) public func columns(_ tile: Int) -> Range<Int> {
        let c = tile % columnTiles * tileColumns
        return c ..< min(c + tileColumns, outFeatures)
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

/// One chunk per worker when the product is big enough to share; tiny products run inline.
@inline(__always)
func gemmChunks(rows: Int, inFeatures: Int, outFeatures: Int, workers: Int = Parallel.workers) -> Int {
    rows * inFeatures * outFeatures < 1 << 18 || rows < 2 * workers ? 1 : workers
}
