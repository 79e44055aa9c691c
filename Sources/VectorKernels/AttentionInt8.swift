import KernelCore

// Attention on the int8 inference path (`--precision int8` where oneDNN has VNNI): each head's
// two products — the scores q·kᵀ and the probabilities' ·v — in 8-bit integers with exact int32
// sums (oneDNN's s8·s8 and u8·s8 gemm, 4× fp32's arithmetic per instruction), the softmax
// between them in fp32. Why: with the linear layers in int8, fp32 attention was a quarter of a
// BERT-base pass at one window (BENCHMARKS.md, "int8 inference").
//
// What is quantized, and how (each scale factors out of its product, so the int32 sums stay exact):
//   q, k           per row (a token), symmetric ±127:  score(i,j) = sq[i]·sk[j]·(q8[i]·k8[j]) / √d
//   v              per column (a channel of the head), symmetric ±127
//   probabilities  per row, as e = exp(s − max) ∈ (0, 1] times 255 in u8; each output row is then
//                  scaled by 1 / (255·Σe), Σe summed in fp32 before rounding
// Keys after the last unmasked one (a padded window's tail) are left out of both products, as in
// the fp32 kernel: their probability is exactly 0.

extension SIMDKernels {
    /// ctx (B,T,C) = softmax(q·kᵀ/√d + mask)·v per head, as `attentionForward` in inference, with
    /// both products in int8 (above). qkv is (B,T,3C) without its bias, `qkvBias` (3C) added as
    /// q, k and v are quantized; mask is (B,T), HF's additive key mask. scratch holds
    /// `attentionInt8ScratchBytes(seq:headSize:)` bytes. Needs int8 products without saturation
    /// (the caller checks oneDNN has VNNI) and a head size of at most 256 (scores stay below 2²²).
    public static func attentionForwardInt8(
        ctx: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, qkvBias: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, batch: Int, seq: Int, channels: Int, heads: Int,
        scratch: UnsafeMutableRawPointer
    ) {
        let B = batch, T = seq, C = channels, NH = heads, hs = C / heads
        let layout = Int8AttentionScratch(seq: T, headSize: hs)
        let scale = 1 / Float(hs).squareRoot()
        let out = SendablePointer(ctx), src = SendablePointer(UnsafeMutablePointer(mutating: qkv))
        let bias = SendablePointer(UnsafeMutablePointer(mutating: qkvBias))
        let m = SendablePointer(UnsafeMutablePointer(mutating: mask))
        let room = SendablePointer(scratch.assumingMemoryBound(to: UInt8.self))
        // One (batch, head) pair a tile, each in its worker's scratch.
        Parallel.forEachTile(B * NH) { worker, pair in
            let b = pair / NH, h = pair % NH
            let q = src.pointer + b * T * 3 * C + h * hs, keyMask = m.pointer + b * T
            var lastValid = -1
            for j in 0..<T where keyMask[j] > -Float.greatestFiniteMagnitude / 2 { lastValid = j }
            let keys = lastValid < 0 ? T : lastValid + 1  // every key when all are masked (HF: uniform)
            attentionHeadInt8(out: out.pointer + b * T * C + h * hs, ldo: C, q: q, k: q + C, v: q + 2 * C, ld: 3 * C,
                              bias: bias.pointer + h * hs, biasStride: C, mask: keyMask, seq: T, keys: keys,
                              headSize: hs, scale: scale,
                              scratch: UnsafeMutableRawPointer(room.pointer + worker * layout.bytes), layout: layout)
        }
    }

    /// One head: out (T,hs), row stride ldo, from q, k, v (T,hs) with row stride ld, their
    /// biases at bias[0], bias[biasStride], bias[2·biasStride], over the first `keys` keys.
    @inline(__always)
    static func attentionHeadInt8(
        out: UnsafeMutablePointer<Float>, ldo: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
        v: UnsafePointer<Float>, ld: Int, bias: UnsafePointer<Float>, biasStride: Int, mask: UnsafePointer<Float>,
        seq T: Int, keys nk: Int, headSize hs: Int, scale: Float,
        scratch: UnsafeMutableRawPointer, layout L: Int8AttentionScratch
    ) {
        func at<P>(_ offset: Int, _ type: P.Type) -> UnsafeMutablePointer<P> {
            (scratch + offset).assumingMemoryBound(to: type)
        }
        let q8 = at(L.q8, Int8.self), k8 = at(L.k8, Int8.self), v8 = at(L.v8, Int8.self)
        let qScales = at(L.qScales, Float.self), kScales = at(L.kScales, Float.self)
        let vScales = at(L.vScales, Float.self), row = at(L.row, Float.self)
        let scores = at(L.scores, Float.self), probabilities = at(L.probabilities, UInt8.self)
        let rowScales = at(L.rowScales, Float.self), sums = at(L.sums, Int32.self)
        let tp = L.stride

        // 1. q (every row) and k (the visited keys) per row, each row biased in `row` first.
        func quantizeRows(_ source: UnsafePointer<Float>, _ count: Int, _ b: UnsafePointer<Float>,
                          _ values: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>) {
            for i in 0..<count {
                let x = source + i * ld
                var c = 0
                while c + 16 <= hs { store16(load16(x + c) + load16(b + c), row + c); c += 16 }
                while c < hs { row[c] = x[c] + b[c]; c += 1 }
                scales[i] = quantizeRow(out: values + i * hs, inp: row, count: hs)
            }
        }
        quantizeRows(q, T, bias, q8, qScales)
        quantizeRows(k, nk, bias + biasStride, k8, kScales)
        // v per column: the largest magnitude of each, then the values (16 columns at a time,
        // the rest one by one; |x| as max(x, −x)). `row` sums x·0 per column meanwhile: NaN
        // where the column holds NaN or ±inf, whose scale then is NaN, so its outputs come out
        // NaN as fp32's would, never a number (a float max would skip the NaN).
        let vb = bias + 2 * biasStride, wide = hs / 16 * 16
        vScales.update(repeating: 0, count: hs)
        row.update(repeating: 0, count: hs)
        let zero = Vec16(repeating: 0)
        for j in 0..<nk {
            let x = v + j * ld
            var c = 0
            while c < wide {
                let y = load16(x + c) + load16(vb + c)
                store16(vmax(load16(vScales + c), vmax(y, -y)), vScales + c)
                store16(fma16(y, zero, load16(row + c)), row + c)
                c += 16
            }
            while c < hs {
                let y = x[c] + vb[c]
                vScales[c] = max(vScales[c], abs(y))
                row[c] += y * 0
                c += 1
            }
        }
        for c in 0..<hs {
            let amax = row[c].isNaN ? .nan : vScales[c]
            row[c] = amax > 0 ? 127 / amax : 0  // the inverse scale; a column of zeros (or NaN) gives 0s
            vScales[c] = amax / 127
        }
        for j in 0..<nk {
            let x = v + j * ld, y = v8 + j * hs
            var c = 0
            while c < wide {
                storeInt8((load16(x + c) + load16(vb + c)) * load16(row + c), y + c)
                c += 16
            }
            while c < hs {
                y[c] = Int8(min(max((x[c] + vb[c]) * row[c], -127), 127).rounded(.toNearestOrEven))
                c += 1
            }
        }

        // 2. scores (T, nk) in int32 = q8 · k8ᵀ.
        let ints = UnsafeMutableRawPointer(scores).assumingMemoryBound(to: Int32.self)
        gemmS8S8(transB: true, m: T, n: nk, k: hs, a: q8, lda: hs, b: k8, ldb: hs, c: ints, ldc: tp)

        // 3. Per row: the scores in fp32 (in place), then e = exp(s − max) as u8 and 1/(255·Σe).
        for i in 0..<T {
            rowScales[i] = probabilitiesInt8(p: probabilities + i * tp, s: scores + i * tp, ints: ints + i * tp,
                                             factor: scale * qScales[i], kScales: kScales, mask: mask, keys: nk)
        }

        // 4. sums (T,hs) in int32 = p8 · v8; out = sums · rowScale · vScale.
        gemmU8S8(m: T, n: hs, k: nk, a: probabilities, lda: tp, b: v8, ldb: hs, c: sums, ldc: hs)
        for i in 0..<T {
            let o = out + i * ldo, r = sums + i * hs, f = rowScales[i]
            for c in 0..<hs { o[c] = Float(r[c]) * f * vScales[c] }
        }
    }

    /// One row of scores: s (fp32) = ints · factor · kScales + mask over the first `keys` keys,
    /// written over ints (the same memory); then p = round(255 · exp(s − max)); returns
    /// 1 / (255 · Σ exp(s − max)). Both rows have room up to `keys` rounded up to 16 (the
    /// scratch's stride): the tail is filled with −inf so the exp loop runs whole vectors.
    /// Int32 → fp32 by the bits of 1.5·2²³ + s (exact for |s| < 2²², which hs ≤ 256 keeps).
    private static func probabilitiesInt8(
        p: UnsafeMutablePointer<UInt8>, s: UnsafeMutablePointer<Float>, ints: UnsafePointer<Int32>, factor: Float,
        kScales: UnsafePointer<Float>, mask: UnsafePointer<Float>, keys nk: Int
    ) -> Float {
        let shifter = Vec16(repeating: 12_582_912), shifterBits = SIMD16<Int32>(repeating: 0x4B40_0000)
        let av = Vec16(repeating: factor)
        var maxV = Vec16(repeating: -.infinity), maxT = -Float.infinity
        var j = 0
        while j + 16 <= nk {
            let n = UnsafeRawPointer(ints + j).loadUnaligned(as: SIMD16<Int32>.self) &+ shifterBits
            let x = (unsafeBitCast(n, to: Vec16.self) - shifter) * av * load16(kScales + j) + load16(mask + j)
            store16(x, s + j)
            maxV = vmax(maxV, x)
            j += 16
        }
        while j < nk {
            s[j] = Float(ints[j]) * factor * kScales[j] + mask[j]
            maxT = Swift.max(maxT, s[j])
            j += 1
        }
        let padded = (nk + 15) / 16 * 16
        while j < padded { s[j] = -.infinity; j += 1 }
        // exp in place first, then the u8 pass: with the two in one loop the compiler left
        // VectorMath.exp out of line (a call per 16 keys; perf).
        let inverse = expInPlace(s, count: padded, max: Swift.max(horizontalMax(maxV), maxT))
        let levels = Vec16(repeating: 255)
        j = 0
        while j < padded {
            let bits = unsafeBitCast(fma16(load16(s + j), levels, shifter), to: SIMD16<UInt32>.self)
            for lane in 0..<16 { p[j + lane] = UInt8(truncatingIfNeeded: bits[lane]) }
            j += 16
        }
        return inverse / 255
    }
}
