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
