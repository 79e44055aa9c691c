// BERT's input embeddings: word + token type + absolute position, summed as HF does
// ((word + type) + position); the LayerNorm after it is `layerNormForward`.

/// out is (B,T,C); ids and types are (B,T) (already validated against the tables);
/// wordTable is (V,C), positionTable is (P,C) with P ≥ T, typeTable is (TV,C).
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>,
    wordTable: UnsafePointer<Float>, positionTable: UnsafePointer<Float>, typeTable: UnsafePointer<Float>,
    batch: Int, seq: Int, channels: Int
) {
    let o = SendablePointer(out)
    let idp = SendablePointer(UnsafeMutablePointer(mutating: ids))
    let tp = SendablePointer(UnsafeMutablePointer(mutating: types))
    let C = channels
    Parallel.forEachRows(batch * seq, costPerRow: C) { _, range in
        for bt in range {
            let w = wordTable + Int(idp.pointer[bt]) * C
            let ty = typeTable + Int(tp.pointer[bt]) * C
            let p = positionTable + (bt % seq) * C
            let dst = o.pointer + bt * C
            var c = 0
            while c + 16 <= C {
                store16((load16(w + c) + load16(ty + c)) + load16(p + c), dst + c)
                c += 16
            }
            while c < C { dst[c] = (w[c] + ty[c]) + p[c]; c += 1 }
        }
    }
}

/// Backward of `embeddingForward`: scatter-adds dout (B,T,C) into the tables' gradients
/// dwordTable (V,C), dpositionTable (P,C), dtypeTable (TV,C) (+=). Rows whose id is
/// `paddingIndex` add nothing to the word table, as nn.Embedding(padding_idx:) does.
/// Tokens sharing an id add into the same row, so the workers split the channels (blocks of
/// 16), not the tokens: no two workers touch the same float, and the order is fixed.
public func embeddingBackward(
    dwordTable: UnsafeMutablePointer<Float>, dpositionTable: UnsafeMutablePointer<Float>,
    dtypeTable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
    ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>, paddingIndex: Int?,
    batch: Int, seq: Int, channels: Int
) {
    let C = channels, BT = batch * seq
    let dw = SendablePointer(dwordTable), dp = SendablePointer(dpositionTable), dt = SendablePointer(dtypeTable)
    let d = SendablePointer(UnsafeMutablePointer(mutating: dout))
    let idp = SendablePointer(UnsafeMutablePointer(mutating: ids))
    let tp = SendablePointer(UnsafeMutablePointer(mutating: types))
    let blocks = (C + 15) / 16
    Parallel.forEachChunk(blocks, chunks: BT * C < 1 << 15 ? 1 : Parallel.workers) { _, range in
        let lo = range.lowerBound * 16, hi = min(range.upperBound * 16, C)
        for bt in 0..<BT {
            let src = d.pointer + bt * C
            let id = Int(idp.pointer[bt])
            if id != paddingIndex { addInPlace(dw.pointer + id * C + lo, src + lo, count: hi - lo) }
            addInPlace(dp.pointer + (bt % seq) * C + lo, src + lo, count: hi - lo)
            addInPlace(dt.pointer + Int(tp.pointer[bt]) * C + lo, src + lo, count: hi - lo)
        }
    }
}
