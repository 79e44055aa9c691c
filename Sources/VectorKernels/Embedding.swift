import KernelCore

// The input embeddings: word + token type + position, summed as HF does ((word + type) +
// position), leaving out a table the architecture lacks; the LayerNorm after it is
// `layerNormForward`.

extension SIMDKernels {
    /// out is (B,T,C); ids, types and positions are (B,T) (already validated against the tables);
    /// wordTable is (V,C), positionTable is (P,C) or nil (no absolute positions: DeBERTa-v3),
    /// typeTable is (TV,C) or nil (no token types). positions nil: token t of each row is at t.
    public static func embeddingForward(
        out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>,
        positions: UnsafePointer<Int32>? = nil,
        wordTable: UnsafePointer<Float>, positionTable: UnsafePointer<Float>?, typeTable: UnsafePointer<Float>?,
        batch: Int, seq: Int, channels: Int
    ) {
        let o = SendablePointer(out)
        let idp = SendablePointer(UnsafeMutablePointer(mutating: ids))
        let tp = SendablePointer(UnsafeMutablePointer(mutating: types))
        let pp = positions.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let C = channels
        Parallel.forEachRows(batch * seq, costPerRow: C) { _, range in
            for bt in range {
                let w = wordTable + Int(idp.pointer[bt]) * C
                let p = positionTable.map { $0 + (pp.map { Int($0.pointer[bt]) } ?? bt % seq) * C }
                let ty = typeTable.map { $0 + Int(tp.pointer[bt]) * C }
                let dst = o.pointer + bt * C
                var c = 0
                while c + 16 <= C {
                    var v = load16(w + c)
                    if let ty { v += load16(ty + c) }
                    if let p { v += load16(p + c) }
                    store16(v, dst + c)
                    c += 16
                }
                while c < C {
                    var v = w[c]
                    if let ty { v += ty[c] }
                    if let p { v += p[c] }
                    dst[c] = v
                    c += 1
                }
            }
        }
    }

    /// Backward of `embeddingForward`: scatter-adds dout (B,T,C) into the tables' gradients
    /// dwordTable (V,C), dpositionTable (P,C), dtypeTable (TV,C) (+=); a nil table (none, or
    /// frozen) gets nothing. Rows whose id is `paddingIndex` add nothing to the word table, and
    /// rows at position `positionPaddingIndex` nothing to the position table, as
    /// nn.Embedding(padding_idx:) does.
    /// Tokens sharing an id add into the same row, so the workers split the channels (blocks of
    /// 16), not the tokens: no two workers touch the same float, and the order is fixed.
    public static func embeddingBackward(
        dwordTable: UnsafeMutablePointer<Float>, dpositionTable: UnsafeMutablePointer<Float>?,
        dtypeTable: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
        ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>, positions: UnsafePointer<Int32>? = nil,
        paddingIndex: Int?, positionPaddingIndex: Int? = nil,
        batch: Int, seq: Int, channels: Int
    ) {
        let C = channels, BT = batch * seq
        let dw = SendablePointer(dwordTable)
        let dp = dpositionTable.map { SendablePointer($0) }, dt = dtypeTable.map { SendablePointer($0) }
        let d = SendablePointer(UnsafeMutablePointer(mutating: dout))
        let idp = SendablePointer(UnsafeMutablePointer(mutating: ids))
        let tp = SendablePointer(UnsafeMutablePointer(mutating: types))
        let pp = positions.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let blocks = (C + 15) / 16
        Parallel.forEachChunk(blocks, chunks: BT * C < 1 << 15 ? 1 : Parallel.workers) { _, range in
            let lo = range.lowerBound * 16, hi = min(range.upperBound * 16, C)
            for bt in 0..<BT {
                let src = d.pointer + bt * C
                let id = Int(idp.pointer[bt])
                if id != paddingIndex { addInPlace(dw.pointer + id * C + lo, src + lo, count: hi - lo) }
                if let dp {
                    let position = pp.map { Int($0.pointer[bt]) } ?? bt % seq
                    if position != positionPaddingIndex { addInPlace(dp.pointer + position * C + lo, src + lo, count: hi - lo) }
                }
                if let dt { addInPlace(dt.pointer + Int(tp.pointer[bt]) * C + lo, src + lo, count: hi - lo) }
            }
        }
    }
}
