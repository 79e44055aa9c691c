import KernelCore

// Attention for one (batch, head), fused: scores of a block of query rows against every key,
// softmax on those rows, then their ·v — no T×T matrix round trip through memory and no BLAS
// packing for a product with only hs = 32 or 64 as inner dimension. Keys after the last
// unmasked one (a padded window's tail) are skipped: their probability is exactly 0.
//
// Loop order (why): kᵀ and v of one head (hs·T floats each, 48 KB for MiniLM) do not fit in L1
// together with the scores, so the products walk the keys in tiles of ~16 KB of kᵀ (or v) and
// run every row of the block (up to 32) over a tile while it is in L1. Visiting all keys for
// 4 or 8 rows at a time instead streamed kᵀ and v from L2 for each of them: perf showed the
// kᵀ loads as the score loop's stalls.

extension SIMDKernels {
    /// Query rows per block (at most), and keys per tile for head size hs (~16 KB of kᵀ or v).
    private static let maxRowBlock = 32
    @inline(__always) private static func keyTile(_ hs: Int) -> Int { max(64, 4096 / hs / 64 * 64) }

    /// Scratch floats `attentionHeadFused` needs for sequence length T and head size hs with a
    /// block of `rowBlock` query rows.
    @inline(__always)
    static func fusedAttentionScratch(seq T: Int, headSize hs: Int, rowBlock: Int = 8) -> Int {
        let tp = (T + 15) / 16 * 16
        return 2 * hs * tp + tp + rowBlock * (tp + 2 * hs + 17)
    }

    /// The largest row block (32, 16 or 8) whose scratch fits in `capacity` floats; nil if none.
    @inline(__always)
    static func fusedAttentionRowBlock(seq T: Int, headSize hs: Int, capacity: Int) -> Int? {
        var r = maxRowBlock
        while r >= 8 {
            if fusedAttentionScratch(seq: T, headSize: hs, rowBlock: r) <= capacity { return r }
            r /= 2
        }
        return nil
    }

    /// out (T,hs) with row stride ldo = softmax(scale · q kᵀ + mask) · v for one head.
    /// q, k, v are (T,hs) with row stride ld (the fused q|k|v buffer); mask is (T), HF's additive
    /// key mask. hs must be a multiple of 16. scratch holds `fusedAttentionScratch(T, hs, rowBlock)`
    /// floats; rowBlock is 8, 16 or 32. `bias` (q|k|v biases of this head: q at [0], k at [biasStride],
    /// v at [2·biasStride]), when given, is added to q, k and v as they are packed: the q|k|v product
    /// then needs no bias broadcast into its output (inference).
    /// The softmax is left unnormalized until the end (out = (e · v) / Σe), as flash attention does.
    /// Training: `probabilities` (T,T), when given, receives the softmax (the backward needs it), and
    /// `dropout` drops probabilities before they weight v, element (i,j) of the head being mask index
    /// `dropoutFirst + i·T + j` — the same elements `dropoutApply` drops on the whole T×T matrix.
    static func attentionHeadFused(
        out: UnsafeMutablePointer<Float>, ldo: Int,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
        mask: UnsafePointer<Float>, seq T: Int, headSize hs: Int, scale: Float,
        scratch: UnsafeMutablePointer<Float>, rowBlock R: Int, bias: UnsafePointer<Float>? = nil, biasStride: Int = 0,
        probabilities: UnsafeMutablePointer<Float>? = nil, dropout: DropoutMask? = nil, dropoutFirst: Int = 0
    ) {
        let tp = (T + 15) / 16 * 16, tile = keyTile(hs)
        // kᵀ (hs, tp), zero beyond T, and v (T, hs) packed contiguous (its rows are 3C apart in
        // qkv: a cache line and a TLB entry per key otherwise); the mask padded with -inf (phantom
        // keys weigh exactly 0, even in a row whose real keys are all masked, which HF makes
        // uniform over T). Then per block: scores (R, tp), e·v sums (R, hs), 1/Σe (R), and each
        // row's running maximum as 16 lanes (R, 16), reduced to one float once per row, and the
        // block's q rows (R, hs), packed.
        let kt = scratch, vp = scratch + hs * tp, maskP = vp + hs * tp
        let scores = maskP + tp, sums = scores + R * tp, rowInv = sums + R * hs, rowMax = rowInv + R
        let qp = rowMax + R * 16
        var lastValid = -1
        for j in 0..<T {
            maskP[j] = mask[j]
            if mask[j] > -Float.greatestFiniteMagnitude / 2 { lastValid = j }
        }
        for j in T..<tp { maskP[j] = -.infinity }
        packTransposed(kt, stride: tp, rows: k, rowStride: ld, count: T, width: hs, staging: vp,
                       bias: bias.map { $0 + biasStride })
        copyRows(vp, rows: v, rowStride: ld, count: T, width: hs, bias: bias.map { $0 + 2 * biasStride })
        // Keys to visit: up to the last unmasked one (all of them if none is unmasked).
        let nk = lastValid < 0 ? tp : (lastValid + 16) / 16 * 16
        let nv = min(nk, T)
        var i0 = 0
        while i0 < T {
            // Rows i0..<i0+rows (a multiple of 8); rows past T repeat row T-1 and are not stored.
            let rows = min(R, (T - i0 + 7) / 8 * 8)
            for x in 0..<rows {
                copyRows(qp + x * hs, rows: q + min(i0 + x, T - 1) * ld, rowStride: ld, count: 1, width: hs, bias: bias)
            }
            @inline(__always) func qRow(_ x: Int) -> UnsafePointer<Float> { UnsafePointer(qp + x * hs) }
            // 1. scores = scale · q kᵀ + mask, a key tile at a time for all rows.
            rowMax.update(repeating: -.infinity, count: rows * 16)
            var j0 = 0
            while j0 < nk {
                let j1 = min(j0 + tile, nk)
                var g = 0
                while g < rows {
                    scoreRows4(qRow(g), qRow(g + 1), qRow(g + 2), qRow(g + 3), out: scores + g * tp, stride: tp,
                               kt: kt, keys: j0..<j1, headSize: hs, mask: maskP, scale: scale, maxima: rowMax + g * 16)
                    g += 4
                }
                j0 = j1
            }
            // 2. e = exp(s - max) in place and 1/Σe per row (+ the training extras).
            for r in 0..<rows {
                let e = scores + r * tp
                rowInv[r] = expInPlace(e, count: nk, max: horizontalMax(load16(rowMax + r * 16)))
                guard i0 + r < T else { continue }
                if let probabilities {
                    saveProbabilities(e, keys: nv, seq: T, inv: rowInv[r], out: probabilities + (i0 + r) * T)
                }
                if let dropout {
                    dropoutApply(out: e, inp: e, count: nv, first: dropoutFirst + (i0 + r) * T, mask: dropout)
                }
            }
            // 3. sums = e · v, a key tile at a time for all rows (8 rows × 32 columns per pass),
            //    then out = sums / Σe.
            sums.update(repeating: 0, count: rows * hs)
            j0 = 0
            while j0 < nv {
                let j1 = min(j0 + tile, nv)
                var g = 0
                while g < rows {
                    var c = 0
                    #if BERTQA_AVX512
                    while c < hs {
                        let width = hs - c >= 32 ? 32 : 16
                        weightedSum8(scores + g * tp + j0, stride: tp, values: vp + j0 * hs + c, valueStride: hs,
                                     keys: j1 - j0, width: width, sums: sums + g * hs + c, sumStride: hs)
                        c += width
                    }
                    g += 8
                    #else
                    // 16 registers of 8 lanes: 4 rows × 16 columns of accumulators (8 registers)
                    // fit with the loads; the 8-row form needs 16–32 and spills.
                    while c < hs {
                        weightedSum4(scores + g * tp + j0, stride: tp, values: vp + j0 * hs + c, valueStride: hs,
                                     keys: j1 - j0, sums: sums + g * hs + c, sumStride: hs)
                        c += 16
                    }
                    g += 4
                    #endif
                }
                j0 = j1
            }
            for r in 0..<min(rows, T - i0) {
                let iv = Vec16(repeating: rowInv[r]), o = out + (i0 + r) * ldo, sr = sums + r * hs
                var c = 0
                while c < hs { store16(load16(sr + c) * iv, o + c); c += 16 }
            }
            i0 += rows
        }
    }

    /// Four rows of scale · q kᵀ + mask for the keys in `keys` (bounds multiples of 16) into out
    /// (rows `stride` apart, column = key), 64 keys × 4 rows of accumulators per pass; `maxima`
    /// (4 rows of 16 lanes) keeps each row's running maximum, lane by lane.
    @inline(__always)
    private static func scoreRows4(
        _ q0: UnsafePointer<Float>, _ q1: UnsafePointer<Float>, _ q2: UnsafePointer<Float>, _ q3: UnsafePointer<Float>,
        out s0: UnsafeMutablePointer<Float>, stride tp: Int, kt: UnsafePointer<Float>, keys: Range<Int>, headSize hs: Int,
        mask maskP: UnsafePointer<Float>, scale: Float, maxima: UnsafeMutablePointer<Float>
    ) {
        let s1 = s0 + tp, s2 = s1 + tp, s3 = s2 + tp
        let vscale = Vec16(repeating: scale)
        var mx0 = load16(maxima), mx1 = load16(maxima + 16), mx2 = load16(maxima + 32), mx3 = load16(maxima + 48)
        var j = keys.lowerBound
        let nk = keys.upperBound
        // 4 rows × 64 keys of accumulators: 16 registers of 16 lanes (AVX-512 has 32). With 8-lane
        // registers (AVX2 has 16) that is 32 and spills: there the 4 × 16 loop below does all keys.
        #if BERTQA_AVX512
        while j + 64 <= nk {
            var a00 = Vec16(), a01 = Vec16(), a02 = Vec16(), a03 = Vec16()
            var a10 = Vec16(), a11 = Vec16(), a12 = Vec16(), a13 = Vec16()
            var a20 = Vec16(), a21 = Vec16(), a22 = Vec16(), a23 = Vec16()
            var a30 = Vec16(), a31 = Vec16(), a32 = Vec16(), a33 = Vec16()
            for d in 0..<hs {
                let kr = kt + d * tp + j
                let b0 = load16(kr), b1 = load16(kr + 16), b2 = load16(kr + 32), b3 = load16(kr + 48)
                let x0 = Vec16(repeating: q0[d]), x1 = Vec16(repeating: q1[d])
                let x2 = Vec16(repeating: q2[d]), x3 = Vec16(repeating: q3[d])
                a00 = fma16(x0, b0, a00); a01 = fma16(x0, b1, a01); a02 = fma16(x0, b2, a02); a03 = fma16(x0, b3, a03)
                a10 = fma16(x1, b0, a10); a11 = fma16(x1, b1, a11); a12 = fma16(x1, b2, a12); a13 = fma16(x1, b3, a13)
                a20 = fma16(x2, b0, a20); a21 = fma16(x2, b1, a21); a22 = fma16(x2, b2, a22); a23 = fma16(x2, b3, a23)
                a30 = fma16(x3, b0, a30); a31 = fma16(x3, b1, a31); a32 = fma16(x3, b2, a32); a33 = fma16(x3, b3, a33)
            }
            let m0 = load16(maskP + j), m1 = load16(maskP + j + 16), m2 = load16(maskP + j + 32), m3 = load16(maskP + j + 48)
            @inline(__always) func put(_ a: Vec16, _ m: Vec16, _ p: UnsafeMutablePointer<Float>, _ mx: inout Vec16) {
                let v = a * vscale + m
                store16(v, p)
                mx = vmax(mx, v)
            }
            put(a00, m0, s0 + j, &mx0); put(a01, m1, s0 + j + 16, &mx0); put(a02, m2, s0 + j + 32, &mx0); put(a03, m3, s0 + j + 48, &mx0)
            put(a10, m0, s1 + j, &mx1); put(a11, m1, s1 + j + 16, &mx1); put(a12, m2, s1 + j + 32, &mx1); put(a13, m3, s1 + j + 48, &mx1)
            put(a20, m0, s2 + j, &mx2); put(a21, m1, s2 + j + 16, &mx2); put(a22, m2, s2 + j + 32, &mx2); put(a23, m3, s2 + j + 48, &mx2)
            put(a30, m0, s3 + j, &mx3); put(a31, m1, s3 + j + 16, &mx3); put(a32, m2, s3 + j + 32, &mx3); put(a33, m3, s3 + j + 48, &mx3)
            j += 64
        }
        #endif
        while j < nk {
            var a0 = Vec16(), a1 = Vec16(), a2 = Vec16(), a3 = Vec16()
            for d in 0..<hs {
                let b = load16(kt + d * tp + j)
                a0 = fma16(Vec16(repeating: q0[d]), b, a0); a1 = fma16(Vec16(repeating: q1[d]), b, a1)
                a2 = fma16(Vec16(repeating: q2[d]), b, a2); a3 = fma16(Vec16(repeating: q3[d]), b, a3)
            }
            let m = load16(maskP + j)
            let v0 = a0 * vscale + m, v1 = a1 * vscale + m, v2 = a2 * vscale + m, v3 = a3 * vscale + m
            store16(v0, s0 + j); store16(v1, s1 + j); store16(v2, s2 + j); store16(v3, s3 + j)
            mx0 = vmax(mx0, v0); mx1 = vmax(mx1, v1); mx2 = vmax(mx2, v2); mx3 = vmax(mx3, v3)
            j += 16
        }
        store16(mx0, maxima); store16(mx1, maxima + 16); store16(mx2, maxima + 32); store16(mx3, maxima + 48)
    }

    /// sums[r] += Σ_j e[r][j] · values[j] over `nv` keys for 4 rows r and 16 columns (the
    /// 8-lane paths' form of `weightedSum8`).
    @inline(__always)
    private static func weightedSum4(
        _ e: UnsafePointer<Float>, stride tp: Int, values: UnsafePointer<Float>, valueStride: Int, keys nv: Int,
        sums: UnsafeMutablePointer<Float>, sumStride: Int
    ) {
        let t1 = tp, t2 = 2 &* tp, t3 = 3 &* tp
        var ej = e, vr = values
        var o0 = Vec16(), o1 = Vec16(), o2 = Vec16(), o3 = Vec16()
        for _ in 0..<nv {
            let b = load16(vr)
            o0 = fma16(Vec16(repeating: ej[0]), b, o0); o1 = fma16(Vec16(repeating: ej[t1]), b, o1)
            o2 = fma16(Vec16(repeating: ej[t2]), b, o2); o3 = fma16(Vec16(repeating: ej[t3]), b, o3)
            ej += 1; vr += valueStride
        }
        @inline(__always) func put(_ o: Vec16, _ r: Int) {
            let p = sums + r * sumStride
            store16(load16(p) + o, p)
        }
        put(o0, 0); put(o1, 1); put(o2, 2); put(o3, 3)
    }

    /// sums[r] += Σ_j e[r][j] · values[j] over `nv` keys, for 8 rows r (e rows `stride` apart,
    /// sums rows `sumStride` apart) and `width` (16 or 32) columns; values rows `valueStride` apart.
    @inline(__always)
    private static func weightedSum8(
        _ e: UnsafePointer<Float>, stride tp: Int, values: UnsafePointer<Float>, valueStride: Int, keys nv: Int,
        width: Int, sums: UnsafeMutablePointer<Float>, sumStride: Int
    ) {
        @inline(__always) func put(_ o: Vec16, _ r: Int, _ column: Int) {
            let p = sums + r * sumStride + column
            store16(load16(p) + o, p)
        }
        // Walk the values and e's column j by pointer increments, the 8 e rows reached as
        // [ej + r·tp] and [ej4 + r·tp] (r < 4) from registers: indexing each row from j needed a
        // multiply (with its overflow check) and more row pointers than there are registers, and
        // the loop spent a third of its instructions on them.
        let t1 = tp, t2 = 2 &* tp, t3 = 3 &* tp
        var ej = e, ej4 = e + 4 &* tp, vr = values
        var o00 = Vec16(), o10 = Vec16(), o20 = Vec16(), o30 = Vec16(), o40 = Vec16(), o50 = Vec16(), o60 = Vec16(), o70 = Vec16()
        if width == 32 {
            var o01 = Vec16(), o11 = Vec16(), o21 = Vec16(), o31 = Vec16(), o41 = Vec16(), o51 = Vec16(), o61 = Vec16(), o71 = Vec16()
            for _ in 0..<nv {
                let b0 = load16(vr), b1 = load16(vr + 16)
                var x = Vec16(repeating: ej[0]); o00 = fma16(x, b0, o00); o01 = fma16(x, b1, o01)
                x = Vec16(repeating: ej[t1]); o10 = fma16(x, b0, o10); o11 = fma16(x, b1, o11)
                x = Vec16(repeating: ej[t2]); o20 = fma16(x, b0, o20); o21 = fma16(x, b1, o21)
                x = Vec16(repeating: ej[t3]); o30 = fma16(x, b0, o30); o31 = fma16(x, b1, o31)
                x = Vec16(repeating: ej4[0]); o40 = fma16(x, b0, o40); o41 = fma16(x, b1, o41)
                x = Vec16(repeating: ej4[t1]); o50 = fma16(x, b0, o50); o51 = fma16(x, b1, o51)
                x = Vec16(repeating: ej4[t2]); o60 = fma16(x, b0, o60); o61 = fma16(x, b1, o61)
                x = Vec16(repeating: ej4[t3]); o70 = fma16(x, b0, o70); o71 = fma16(x, b1, o71)
                ej += 1; ej4 += 1; vr += valueStride
            }
            put(o01, 0, 16); put(o11, 1, 16); put(o21, 2, 16); put(o31, 3, 16)
            put(o41, 4, 16); put(o51, 5, 16); put(o61, 6, 16); put(o71, 7, 16)
        } else {
            for _ in 0..<nv {
                let b0 = load16(vr)
                o00 = fma16(Vec16(repeating: ej[0]), b0, o00); o10 = fma16(Vec16(repeating: ej[t1]), b0, o10)
                o20 = fma16(Vec16(repeating: ej[t2]), b0, o20); o30 = fma16(Vec16(repeating: ej[t3]), b0, o30)
                o40 = fma16(Vec16(repeating: ej4[0]), b0, o40); o50 = fma16(Vec16(repeating: ej4[t1]), b0, o50)
                o60 = fma16(Vec16(repeating: ej4[t2]), b0, o60); o70 = fma16(Vec16(repeating: ej4[t3]), b0, o70)
                ej += 1; ej4 += 1; vr += valueStride
            }
        }
        put(o00, 0, 0); put(o10, 1, 0); put(o20, 2, 0); put(o30, 3, 0)
        put(o40, 4, 0); put(o50, 5, 0); put(o60, 6, 0); put(o70, 7, 0)
    }

    /// out (width, stride) = the `count` rows (width floats, rowStride apart, + bias) transposed, zero
    /// in columns count..<stride. The rows are first copied contiguous into `staging` (count·width
    /// floats) with vector copies: rows 3C apart in qkv each cost a cache miss (on a page of their
    /// own, past the prefetchers), and whole-row copies keep many misses in flight where a
    /// scalar transposing loop waits on them one row at a time.
    @inline(__always)
    private static func packTransposed(
        _ out: UnsafeMutablePointer<Float>, stride: Int, rows: UnsafePointer<Float>, rowStride: Int,
        count: Int, width: Int, staging: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?
    ) {
        copyRows(staging, rows: rows, rowStride: rowStride, count: count, width: width, bias: bias)
        for d in 0..<width {
            let o = out + d * stride
            // By pointer increment: indexing staging[j·width + d] paid a checked multiply per element.
            var src = UnsafePointer(staging) + d
            for j in 0..<count { o[j] = src.pointee; src += width }
            if count < stride { (o + count).update(repeating: 0, count: stride - count) }
        }
    }

    /// out (count, width) contiguous = the `count` rows (width floats, a multiple of 16, rowStride
    /// apart) + bias (width) when given. Vector copies inline: a memmove call per 128-byte row cost
    /// more than the copy.
    @inline(__always)
    private static func copyRows(
        _ out: UnsafeMutablePointer<Float>, rows: UnsafePointer<Float>, rowStride: Int, count: Int, width: Int,
        bias: UnsafePointer<Float>?
    ) {
        for j in 0..<count {
            let o = out + j * width, r = rows + j * rowStride
            var c = 0
            if let bias {
                while c < width { store16(load16(r + c) + load16(bias + c), o + c); c += 16 }
            } else {
                while c < width { store16(load16(r + c), o + c); c += 16 }
            }
        }
    }

    /// out (T) = e · inv for the keys visited, 0 for the skipped ones (their probability is 0).
    @inline(__always)
    private static func saveProbabilities(_ e: UnsafePointer<Float>, keys nv: Int, seq T: Int, inv: Float, out: UnsafeMutablePointer<Float>) {
        let iv = Vec16(repeating: inv)
        var j = 0
        while j + 16 <= nv { store16(load16(e + j) * iv, out + j); j += 16 }
        while j < nv { out[j] = e[j] * inv; j += 1 }
        if nv < T { (out + nv).update(repeating: 0, count: T - nv) }
    }

    /// row[0..<count] ← exp(row - max) (count a multiple of 16); returns 1 / Σ.
    @inline(__always)
    static func expInPlace(_ row: UnsafeMutablePointer<Float>, count: Int, max: Float) -> Float {
        let m = Vec16(repeating: max)
        var sum = Vec16(repeating: 0)
        var j = 0
        while j < count {
            let e = VectorMath.exp(load16(row + j) - m)
            store16(e, row + j)
            sum += e
            j += 16
        }
        return 1 / horizontalSum(sum)
    }

    /// The largest lane, by halving (the standard library's `max()` reduction is a generic call
    /// that perf showed at 4 % of a forward pass here).
    @inline(__always)
    static func horizontalMax(_ v: Vec16) -> Float {
        let a = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
        let b = a.lowHalf.replacing(with: a.highHalf, where: a.lowHalf .< a.highHalf)
        let c = b.lowHalf.replacing(with: b.highHalf, where: b.lowHalf .< b.highHalf)
        return Swift.max(c[0], c[1])
    }

    /// The sum of the lanes, by halving.
    @inline(__always)
    static func horizontalSum(_ v: Vec16) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }
}
