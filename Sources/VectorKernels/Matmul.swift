import KernelCore

// Linear layers through sgemm (oneDNN). Weights stay in PyTorch's Linear layout (OC,C), read
// as a transposed operand: no copies, and the gradient buffer uses the same layout.
// A product is cut into tiles of rows (or, for a few rows, of output columns), each one
// single-threaded sgemm (oneDNN sees it is inside a parallel region), claimed by the workers as
// they free up (`Parallel.forEachTile`). The tiles' sizes follow from the shape and the worker
// count alone: oneDNN's sgemm picks its blocking of the sum over C from the sizes it is given
// (its AVX2 kernels round differently for another row or column count), so a cut that moved
// with timing would move the bits with it.
//
// bf16 training (`bf16:` operands): the same tiles, each one bf16 × bf16 → fp32 gemm on the
// input rounded once per product (by all workers, before the tiles) and the weight rounded by
// the caller; biases, outputs and everything after them stay fp32.

extension SIMDKernels {
    /// out is (N,OC); inp is (N,C); weight is (OC,C); bias is (OC) or nil.
    /// out = inp · weightᵀ + bias (bias broadcast first, then the product accumulated onto it,
    /// as torch.addmm does). `bf16`: the product in bfloat16 (see the top of this file).
    public static func matmulForward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, inFeatures: Int, outFeatures: Int, bf16: BF16Operands? = nil
    ) {
        let o = SendablePointer(out)
        if let bf16 { convertToBF16(out: bf16.input, inp: inp, count: rows * inFeatures) }
        forEachLinearBlock(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures) { rows, columns in
            linearBlock(out: o.pointer, inp: inp, weight: weight, bias: bias, bf16: bf16,
                        rows: rows, columns: columns, inFeatures: inFeatures, outFeatures: outFeatures)
        }
    }

    /// The feed-forward up-projection with its bias and activation applied by the worker that
    /// computed the rows, one row at a time while the row is in L1 (one fused pass): pre = inp · weightᵀ + bias,
    /// out = act(pre). The product runs with beta = 0 (no bias broadcast into the output first:
    /// one pass over (N,OC) less). pre and out are (N,OC) and may be the same buffer (inference keeps
    /// no pre-activation; training keeps it for the backward pass); inp is (N,C); weight (OC,C).
    /// `bf16`: the product in bfloat16.
    public static func matmulActivationForward(
        pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, inFeatures: Int, outFeatures: Int, activation: Activation, bf16: BF16Operands? = nil
    ) {
        let p = SendablePointer(pre), o = SendablePointer(out)
        if let bf16 { convertToBF16(out: bf16.input, inp: inp, count: rows * inFeatures) }
        forEachLinearBlock(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures) { rows, columns in
            linearBlock(out: p.pointer, inp: inp, weight: weight, bias: nil, bf16: bf16,
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
    private static func forEachLinearBlock(
        rows: Int, inFeatures: Int, outFeatures: Int, _ body: (Range<Int>, Range<Int>) -> Void
    ) {
        let tiles = LinearTiles(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
        Parallel.forEachTile(tiles.count) { _, tile in body(tiles.rows(tile), tiles.columns(tile)) }
    }

    /// The block (rows, columns) of out = inp · weightᵀ + bias, on the calling thread: one sgemm
    /// over those rows of inp and the weight rows of those columns (contiguous in (OC,C)); with
    /// `bf16`, over their rounded copies.
    @inline(__always)
    private static func linearBlock(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, bf16: BF16Operands?,
        rows: Range<Int>, columns: Range<Int>, inFeatures: Int, outFeatures: Int
    ) {
        let o = out + rows.lowerBound * outFeatures + columns.lowerBound
        if let bias {
            for r in 0..<rows.count {
                (o + r * outFeatures).update(from: bias + columns.lowerBound, count: columns.count)
            }
        }
        if let bf16 {
            gemmBF16(transA: false, transB: true, m: rows.count, n: columns.count, k: inFeatures,
                     alpha: 1, a: bf16.input + rows.lowerBound * inFeatures, lda: inFeatures,
                     b: bf16.weight + columns.lowerBound * inFeatures, ldb: inFeatures,
                     beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures)
            return
        }
        sgemm(transA: false, transB: true, m: rows.count, n: columns.count, k: inFeatures,
              alpha: 1, a: inp + rows.lowerBound * inFeatures, lda: inFeatures,
              b: weight + columns.lowerBound * inFeatures, ldb: inFeatures,
              beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures)
    }
}
