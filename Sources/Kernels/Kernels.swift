// The kernels' public entry points. Each forwards to the vector path chosen for this CPU at
// start-up (`KernelPath.current`): the same Swift source (Sources/VectorKernels) compiled for
// AVX-512, for AVX2 + FMA and for the portable baseline, so one binary runs fast on each.
// Written by scripts/gen_kernel_set.py from the implementations' signatures and comments.

@_exported import KernelCore

// MARK: Activation

/// out and inp are (N) (any shape, flat); may alias. Single-threaded: callers parallelize.
public func activationForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, kind: Activation
) {
    KernelPath.kernels.activationForward(out: out, inp: inp, count: count, kind: kind)
}

/// x = act(x + bias) over (rows, columns), rows split over the workers: the bias and activation
/// of a product computed without them (the packed inference path's intermediate layer).
public func biasActivationInPlace(
    _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, columns: Int, kind: Activation
) {
    KernelPath.kernels.biasActivationInPlace(x, bias: bias, rows: rows, columns: columns, kind: kind)
}

// MARK: ActivationBackward

/// dinp, dout and pre are (N), flat; dinp may alias dout. Parallel over the workers.
public func activationBackward(
    dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, pre: UnsafePointer<Float>, count: Int,
    kind: Activation
) {
    KernelPath.kernels.activationBackward(dinp: dinp, dout: dout, pre: pre, count: count, kind: kind)
}

// MARK: Attention

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
public func attentionForward(
    ctx: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
    mask: UnsafePointer<Float>, batch: Int, seq: Int, channels: Int, heads: Int, saveProbabilities: Bool,
    dropout: DropoutMask? = nil, dropped: UnsafeMutablePointer<Float>? = nil, allowFused: Bool = true,
    qkvBias: UnsafePointer<Float>? = nil
) {
    KernelPath.kernels.attentionForward(
        ctx: ctx, att: att, qkv: qkv, mask: mask, batch: batch, seq: seq, channels: channels, heads: heads,
        saveProbabilities: saveProbabilities, dropout: dropout, dropped: dropped, allowFused: allowFused,
        qkvBias: qkvBias
    )
}

// MARK: AttentionBackward

/// dqkv is (B,T,3C), written; dctx is (B,T,C) (heads merged, as ctx); att is (B,NH,T,T), the
/// forward's saved probabilities; qkv is (B,T,3C); scratch holds
/// `attentionBackwardScratchCount(seq:)` floats; dropout is the forward's probability dropout.
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>, att: UnsafePointer<Float>,
    qkv: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, dropout: DropoutMask?, batch: Int, seq: Int,
    channels: Int, heads: Int
) {
    KernelPath.kernels.attentionBackward(
        dqkv: dqkv, dctx: dctx, att: att, qkv: qkv, scratch: scratch, dropout: dropout, batch: batch, seq: seq,
        channels: channels, heads: heads
    )
}

// MARK: AttentionInt8

/// ctx (B,T,C) = softmax(q·kᵀ/√d + mask)·v per head, as `attentionForward` in inference, with
/// both products in int8 (above). qkv is (B,T,3C) without its bias, `qkvBias` (3C) added as
/// q, k and v are quantized; mask is (B,T), HF's additive key mask. scratch holds
/// `attentionInt8ScratchBytes(seq:headSize:)` bytes. Needs int8 products without saturation
/// (the caller checks oneDNN has VNNI) and a head size of at most 256 (scores stay below 2²²).
public func attentionForwardInt8(
    ctx: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, qkvBias: UnsafePointer<Float>,
    mask: UnsafePointer<Float>, batch: Int, seq: Int, channels: Int, heads: Int, scratch: UnsafeMutableRawPointer
) {
    KernelPath.kernels.attentionForwardInt8(
        ctx: ctx, qkv: qkv, qkvBias: qkvBias, mask: mask, batch: batch, seq: seq, channels: channels, heads: heads,
        scratch: scratch
    )
}

// MARK: BF16

/// bf16 buffer of (rows, columns) = fp32 `inp` rounded to nearest even (NaN stays NaN).
/// Row-parallel; out and inp must not overlap.
public func convertToBF16(out: UnsafeMutablePointer<UInt16>, inp: UnsafePointer<Float>, count: Int) {
    KernelPath.kernels.convertToBF16(out: out, inp: inp, count: count)
}

// MARK: CrossEntropy

/// probs and logits are (B,T); targets are (B) in 0...T, where T is the ignore index.
/// Writes softmax(logits) into probs (the backward's input) and returns the summed loss over
/// rows whose target is not ignored, with the count of those rows.
public func crossEntropyForward(
    probs: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int,
    classes: Int, ignoreIndex: Int
) -> (sum: Double, count: Int) {
    return KernelPath.kernels.crossEntropyForward(
        probs: probs, logits: logits, targets: targets, batch: batch, classes: classes, ignoreIndex: ignoreIndex
    )
}

/// Backward of `crossEntropyForward` for a loss `weight · (Σ row losses) / count`:
/// dlogits (B,classes) (written, with row stride `stride` so start and end can go straight
/// into the interleaved (B·T,2) layout of the QA head) = weight/count · (probs − onehot(target)),
/// 0 on ignored rows. With count 0 (every row ignored; the loss is NaN) the gradient is 0.
public func crossEntropyBackward(
    dlogits: UnsafeMutablePointer<Float>, stride: Int, probs: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
    batch: Int, classes: Int, ignoreIndex: Int, count: Int, weight: Float
) {
    KernelPath.kernels.crossEntropyBackward(
        dlogits: dlogits, stride: stride, probs: probs, targets: targets, batch: batch, classes: classes,
        ignoreIndex: ignoreIndex, count: count, weight: weight
    )
}

// MARK: Dropout

/// Dropout on x (N) in place, elements 0..<N of the site; parallel over the workers.
public func dropoutForward(_ x: UnsafeMutablePointer<Float>, count: Int, mask: DropoutMask) {
    KernelPath.kernels.dropoutForward(x, count: count, mask: mask)
}

/// dinp (N) = dout masked and scaled as the forward did (same mask, regenerated). May alias.
public func dropoutBackward(
    dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int, mask: DropoutMask
) {
    KernelPath.kernels.dropoutBackward(dinp: dinp, dout: dout, count: count, mask: mask)
}

// MARK: Embedding

/// out is (B,T,C); ids, types and positions are (B,T) (already validated against the tables);
/// wordTable is (V,C), positionTable is (P,C) or nil (no absolute positions: DeBERTa-v3),
/// typeTable is (TV,C) or nil (no token types). positions nil: token t of each row is at t.
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>,
    positions: UnsafePointer<Int32>? = nil, wordTable: UnsafePointer<Float>, positionTable: UnsafePointer<Float>?,
    typeTable: UnsafePointer<Float>?, batch: Int, seq: Int, channels: Int
) {
    KernelPath.kernels.embeddingForward(
        out: out, ids: ids, types: types, positions: positions, wordTable: wordTable, positionTable: positionTable,
        typeTable: typeTable, batch: batch, seq: seq, channels: channels
    )
}

/// Backward of `embeddingForward`: scatter-adds dout (B,T,C) into the tables' gradients
/// dwordTable (V,C), dpositionTable (P,C), dtypeTable (TV,C) (+=); a nil table (none, or
/// frozen) gets nothing. Rows whose id is `paddingIndex` add nothing to the word table, and
/// rows at position `positionPaddingIndex` nothing to the position table, as
/// nn.Embedding(padding_idx:) does.
/// Tokens sharing an id add into the same row, so the workers split the channels (blocks of
/// 16), not the tokens: no two workers touch the same float, and the order is fixed.
public func embeddingBackward(
    dwordTable: UnsafeMutablePointer<Float>, dpositionTable: UnsafeMutablePointer<Float>?,
    dtypeTable: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
    types: UnsafePointer<Int32>, positions: UnsafePointer<Int32>? = nil, paddingIndex: Int?,
    positionPaddingIndex: Int? = nil, batch: Int, seq: Int, channels: Int
) {
    KernelPath.kernels.embeddingBackward(
        dwordTable: dwordTable, dpositionTable: dpositionTable, dtypeTable: dtypeTable, dout: dout, ids: ids,
        types: types, positions: positions, paddingIndex: paddingIndex, positionPaddingIndex: positionPaddingIndex,
        batch: batch, seq: seq, channels: channels
    )
}

// MARK: Int8

/// out (rows, columns) int8 = round(inp / scale[r]), scales[r] = max |inp[r, :]| / 127:
/// symmetric, one scale per row (a token), rounded to nearest even, so each row's
/// quantization depends on that row alone. A row of zeros gets scale 0 and zeros; a row
/// holding NaN or ±inf gets scale NaN and zeros, so its products come out NaN as fp32's
/// would, never a number. Row-parallel; out and inp must not overlap.
public func quantizeRowsInt8(
    out: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int,
    columns: Int
) {
    KernelPath.kernels.quantizeRowsInt8(out: out, scales: scales, inp: inp, rows: rows, columns: columns)
}

/// x[r, :] *= scales[r] over (rows, columns): the input rows' scales applied to a product's
/// output. Row-parallel.
public func scaleRows(_ x: UnsafeMutablePointer<Float>, scales: UnsafePointer<Float>, rows: Int, columns: Int) {
    KernelPath.kernels.scaleRows(x, scales: scales, rows: rows, columns: columns)
}

// MARK: LayerNorm

/// out is (N,C); mean, rstd are (N); inp is (N,C); weight, bias are (C).
/// y = (x - mean) · rstd · weight + bias with rstd = 1/sqrt(var + eps), var biased (as PyTorch).
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, channels: Int,
    eps: Float
) {
    KernelPath.kernels.layerNormForward(
        out: out, mean: mean, rstd: rstd, inp: inp, weight: weight, bias: bias, rows: rows, channels: channels,
        eps: eps
    )
}

/// The post-sublayer LayerNorm of a BERT layer, fused with its residual add:
/// `x += residual` in place (x then holds the LayerNorm's input, which the backward needs),
/// then out = LayerNorm(x). With `denseBias`, x is the dense layer's product without its bias
/// and `x += denseBias + residual` (inference: the bias added here, in a pass over x that
/// happens anyway, instead of broadcast into the product's output first).
/// x, residual and out are (N,C); mean, rstd are (N); weight, bias, denseBias are (C).
public func residualLayerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, denseBias: UnsafePointer<Float>? = nil,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, channels: Int, eps: Float
) {
    KernelPath.kernels.residualLayerNormForward(
        out: out, mean: mean, rstd: rstd, x: x, residual: residual, denseBias: denseBias, weight: weight, bias: bias,
        rows: rows, channels: channels, eps: eps
    )
}

// MARK: LayerNormBackward

/// dinp is (N,C), written (not accumulated); dweight, dbias (C) are accumulated (+=).
/// dout, inp are (N,C) (inp = the forward's input: for the residual variant, x after its
/// `x += residual`); mean, rstd (N); weight (C).
/// The residual variant's forward had two inputs (the sublayer's output and the residual);
/// both receive the same gradient, `dinp`. When `branch` is given, it also gets
/// `branchDropout`'s backward of dinp: the gradient of the sublayer output before its dropout.
public func layerNormBackward(
    dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, mean: UnsafePointer<Float>,
    rstd: UnsafePointer<Float>, rows: Int, channels: Int, scratch: UnsafeMutablePointer<Float>,
    branch: UnsafeMutablePointer<Float>? = nil, branchDropout: DropoutMask? = nil
) {
    KernelPath.kernels.layerNormBackward(
        dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight, mean: mean, rstd: rstd,
        rows: rows, channels: channels, scratch: scratch, branch: branch, branchDropout: branchDropout
    )
}

// MARK: Matmul

/// out is (N,OC); inp is (N,C); weight is (OC,C); bias is (OC) or nil.
/// out = inp · weightᵀ + bias (bias broadcast first, then the product accumulated onto it,
/// as torch.addmm does). `bf16`: the product in bfloat16 (see the top of this file).
public func matmulForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int, bf16: BF16Operands? = nil
) {
    KernelPath.kernels.matmulForward(
        out: out, inp: inp, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
        bf16: bf16
    )
}

/// The feed-forward up-projection with its bias and activation applied by the worker that
/// computed the rows, one row at a time while the row is in L1 (one fused pass): pre = inp · weightᵀ + bias,
/// out = act(pre). The product runs with beta = 0 (no bias broadcast into the output first:
/// one pass over (N,OC) less). pre and out are (N,OC) and may be the same buffer (inference keeps
/// no pre-activation; training keeps it for the backward pass); inp is (N,C); weight (OC,C).
/// `bf16`: the product in bfloat16.
public func matmulActivationForward(
    pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int,
    activation: Activation, bf16: BF16Operands? = nil
) {
    KernelPath.kernels.matmulActivationForward(
        pre: pre, out: out, inp: inp, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures,
        outFeatures: outFeatures, activation: activation, bf16: bf16
    )
}

// MARK: MatmulBackward

/// dinp is (N,C) or nil (the embeddings' input needs none); dout is (N,OC); inp is (N,C);
/// weight is (OC,C); dweight (OC,C) and dbias (OC) are accumulated into (+=).
/// `accumulateInput`: dinp += ... instead of dinp = ... (a residual branch already wrote there).
/// `throughActivation`: inp was act(pre) — dinp continues back through it, dinp = (dout · weight)
/// ⊙ act'(pre), applied by the worker that computed those rows, right after its product.
/// `bf16`: both products in bfloat16.
public func matmulBackward(
    dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows: Int, inFeatures: Int,
    outFeatures: Int, accumulateInput: Bool = false,
    throughActivation: (pre: UnsafePointer<Float>, kind: Activation)? = nil, bf16: BF16Operands? = nil
) {
    KernelPath.kernels.matmulBackward(
        dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight, rows: rows,
        inFeatures: inFeatures, outFeatures: outFeatures, accumulateInput: accumulateInput,
        throughActivation: throughActivation, bf16: bf16
    )
}

// MARK: RelativeAttention

/// ctx (B,T,C) ← attention over qkv (B,T,3C) with the relative terms. att: (B,NH,T,T) saved
/// probabilities when `saveProbabilities`, else `Parallel.workers`·T·T scratch. mask: (B,T)
/// additive key mask (0 or −FLT_MAX), which also marks padding queries. scratch:
/// `relativeAttentionScratchCount`. dropout/dropped as in `attentionForward`.
public func relativeAttentionForward(
    ctx: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
    mask: UnsafePointer<Float>, positions: RelativeAttentionPositions, scratch: UnsafeMutablePointer<Float>,
    batch: Int, seq: Int, channels: Int, heads: Int, saveProbabilities: Bool, dropout: DropoutMask? = nil,
    dropped: UnsafeMutablePointer<Float>? = nil
) {
    KernelPath.kernels.relativeAttentionForward(
        ctx: ctx, att: att, qkv: qkv, mask: mask, positions: positions, scratch: scratch, batch: batch, seq: seq,
        channels: channels, heads: heads, saveProbabilities: saveProbabilities, dropout: dropout, dropped: dropped
    )
}

/// dqkv (B,T,3C) written; dKeys / dQueries (2S,C) (the position projections' gradients)
/// written; the rest as `attentionBackward`, with the forward's mask and positions.
public func relativeAttentionBackward(
    dqkv: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>?, dQueries: UnsafeMutablePointer<Float>?,
    dctx: UnsafePointer<Float>, att: UnsafePointer<Float>, qkv: UnsafePointer<Float>, mask: UnsafePointer<Float>,
    positions: RelativeAttentionPositions, scratch: UnsafeMutablePointer<Float>, dropout: DropoutMask?, batch: Int,
    seq: Int, channels: Int, heads: Int
) {
    KernelPath.kernels.relativeAttentionBackward(
        dqkv: dqkv, dKeys: dKeys, dQueries: dQueries, dctx: dctx, att: att, qkv: qkv, mask: mask,
        positions: positions, scratch: scratch, dropout: dropout, batch: batch, seq: seq, channels: channels,
        heads: heads
    )
}

// MARK: Vectors

/// x[0..<count] += y[0..<count] (the one vector add-in-place the kernels share).
public func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    KernelPath.kernels.addInPlace(x, y, count: count)
}

/// Each of `rows` rows of x (rows, columns) += bias (columns), on all cores.
public func addRowBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, columns: Int) {
    KernelPath.kernels.addRowBias(x, bias, rows: rows, columns: columns)
}
