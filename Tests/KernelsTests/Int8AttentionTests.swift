import Foundation
import Kernels
import TestSupport
import XCTest

/// int8 attention (`attentionForwardInt8`, inference with `--precision int8` where oneDNN has
/// VNNI) against a plain scalar emulation of its quantization scheme (q and k per row, v per
/// column, probabilities as round(255 · exp(s − max)) per row, exact integer sums), and against
/// fp32 attention within what 8 bits allow. Shapes as the fused kernel's tests: lengths that
/// are not multiples of 16, head sizes with a tail of columns (40), a padded batch entry and one
/// whose keys are all masked (HF: uniform rows).
final class Int8AttentionTests: XCTestCase {
    private let shapes = [(61, 32, 2), (100, 64, 2), (130, 16, 3), (77, 48, 1), (45, 40, 2), (5, 32, 1)]

    /// The scheme, written plainly (fp32 where the kernel is fp32; exp in Double).
    private func emulate(qkv: [Float], bias: [Float], mask: [Float], B: Int, T: Int, C: Int, heads: Int) -> [Float] {
        let hs = C / heads, scale = 1 / Float(hs).squareRoot()
        var out = [Float](repeating: 0, count: B * T * C)
        func quantize(_ x: [Float]) -> ([Int32], Float) {
            let amax = x.map(abs).max() ?? 0
            guard amax > 0 else { return (Array(repeating: 0, count: x.count), 0) }
            let inverse = 127 / amax
            return (x.map { Int32(min(max($0 * inverse, -127), 127).rounded(.toNearestOrEven)) }, amax / 127)
        }
        for b in 0..<B {
            let keyMask = Array(mask[(b * T)..<((b + 1) * T)])
            let last = keyMask.lastIndex { $0 > -Float.greatestFiniteMagnitude / 2 }
            let nk = last.map { $0 + 1 } ?? T
            for h in 0..<heads {
                func part(_ i: Int, _ which: Int) -> [Float] {
                    (0..<hs).map { c in qkv[(b * T + i) * 3 * C + which * C + h * hs + c] + bias[which * C + h * hs + c] }
                }
                let q = (0..<T).map { quantize(part($0, 0)) }, k = (0..<nk).map { quantize(part($0, 1)) }
                let v = (0..<nk).map { part($0, 2) }
                let vMax = (0..<hs).map { c in (0..<nk).map { abs(v[$0][c]) }.max()! }
                let vScale = vMax.map { $0 / 127 }
                let v8 = (0..<nk).map { j in
                    (0..<hs).map { c -> Int32 in
                        let inverse: Float = vMax[c] > 0 ? 127 / vMax[c] : 0
                        return Int32(min(max(v[j][c] * inverse, -127), 127).rounded(.toNearestOrEven))
                    }
                }
                for i in 0..<T {
                    let a = scale * q[i].1
                    let s: [Float] = (0..<nk).map { j in
                        var dot: Int32 = 0
                        for c in 0..<hs { dot += q[i].0[c] * k[j].0[c] }
                        return Float(dot) * a * k[j].1 + keyMask[j]
                    }
                    let mx = s.max()!
                    let e = s.map { Foundation.exp(Double($0 - mx)) }
                    let p = e.map { Int32(($0 * 255).rounded(.toNearestOrEven)) }
                    let rowScale = Float(1 / (255 * e.reduce(0, +)))
                    for c in 0..<hs {
                        var sum: Int32 = 0
                        for j in 0..<nk { sum += p[j] * v8[j][c] }
                        out[(b * T + i) * C + h * hs + c] = Float(sum) * rowScale * vScale[c]
                    }
                }
            }
        }
        return out
    }

    func testInt8AttentionFollowsItsSchemeAndStaysNearFP32() throws {
        guard PackedLinear.hasInt8DotProducts else {
            throw XCTSkip("oneDNN has no VNNI here (\(GEMM.oneDNNInstructionSet)): int8 attention does not run on this CPU")
        }
        try forEachKernelPath {
            var rng = SeededGenerator(seed: 41)
            for (T, hs, heads) in shapes {
                let B = 3, C = hs * heads
                let qkv = (0..<(B * T * 3 * C)).map { _ in Float.random(in: -2...2, using: &rng) }
                let bias = (0..<(3 * C)).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
                var mask = [Float](repeating: 0, count: B * T)
                for j in (T * 2 / 3)..<T { mask[T + j] = -Float.greatestFiniteMagnitude }  // entry 1: padded tail
                for j in 0..<T { mask[2 * T + j] = -Float.greatestFiniteMagnitude }        // entry 2: all masked
                var got = [Float](repeating: .nan, count: B * T * C), fp32 = got
                var scratch = [UInt8](repeating: 0, count: attentionInt8ScratchBytes(seq: T, headSize: hs))
                var floats = [Float](repeating: 0, count: Parallel.workers * T * T)
                var biased = qkv
                for i in biased.indices { biased[i] += bias[i % (3 * C)] }
                try withExtendedLifetime((qkv, bias, mask)) {
                    try scratch.withUnsafeMutableBytes { room in
                        attentionForwardInt8(ctx: &got, qkv: qkv, qkvBias: bias, mask: mask, batch: B, seq: T, channels: C,
                                             heads: heads, scratch: try XCTUnwrap(room.baseAddress))
                    }
                    attentionForward(ctx: &fp32, att: &floats, qkv: biased, mask: mask, batch: B, seq: T, channels: C,
                                     heads: heads, saveProbabilities: false)
                }
                let want = emulate(qkv: qkv, bias: bias, mask: mask, B: B, T: T, C: C, heads: heads)
                let vMax = biased.map(abs).max()!
                // The scheme: nearly every output as the emulation's to fp32 rounding; a few may
                // differ where 255 · e lies within the exp approximations' difference of a
                // rounding boundary (one level of one probability: at most vMax / 255).
                var close = 0, worstScheme: Float = 0, worstFP32: Float = 0, sumFP32: Float = 0
                for i in got.indices {
                    let d = abs(got[i] - want[i])
                    if d <= 1e-5 * vMax { close += 1 }
                    worstScheme = max(worstScheme, d)
                    worstFP32 = max(worstFP32, abs(got[i] - fp32[i]))
                    sumFP32 += abs(got[i] - fp32[i])
                }
                let label = "T \(T), hs \(hs)"
                XCTAssertGreaterThanOrEqual(Double(close), 0.99 * Double(got.count), "\(label): \(close) of \(got.count) as emulated")
                XCTAssertLessThanOrEqual(worstScheme, 2 * vMax / 255, label)
                // (Measured on the Zen 4: every output within 1.5e-7 · vMax of the emulation.)
                // Against fp32: within what 8 bits allow (measured worst 1.1 %, mean ≤ 0.11 % of
                // the largest |v|); the all-masked entry is uniform in both.
                XCTAssertLessThanOrEqual(worstFP32, 0.03 * vMax, label)
                XCTAssertLessThanOrEqual(sumFP32 / Float(got.count), 0.003 * vMax, label)
                XCTAssertGreaterThan(worstFP32, 0, "\(label): the int8 path ran")
            }
        }
    }

    /// A NaN or infinity in q, k or v gives NaN outputs where fp32's would be NaN, never a
    /// number: v's column max must not skip it.
    func testNonFiniteValuesComeOutNaN() throws {
        guard PackedLinear.hasInt8DotProducts else {
            throw XCTSkip("oneDNN has no VNNI here (\(GEMM.oneDNNInstructionSet)): int8 attention does not run on this CPU")
        }
        let T = 20, hs = 32, heads = 2, C = hs * heads
        for (part, value) in [(2, Float.nan), (2, .infinity), (1, .nan), (0, -.infinity)] {
            var qkv = (0..<(T * 3 * C)).map { Float(($0 * 37) % 17) / 10 - 0.8 }
            qkv[5 * 3 * C + part * C + 3] = value  // token 5, head 0, column 3 of q, k or v
            var got = [Float](repeating: 0, count: T * C)
            var scratch = [UInt8](repeating: 0, count: attentionInt8ScratchBytes(seq: T, headSize: hs))
            let bias = [Float](repeating: 0, count: 3 * C), mask = [Float](repeating: 0, count: T)
            try withExtendedLifetime((qkv, bias, mask)) {
                try scratch.withUnsafeMutableBytes { room in
                    attentionForwardInt8(ctx: &got, qkv: qkv, qkvBias: bias, mask: mask, batch: 1, seq: T, channels: C,
                                         heads: heads, scratch: try XCTUnwrap(room.baseAddress))
                }
            }
            // v: that column of head 0 is NaN in every row; q or k: at least that row (q) or
            // every row (k, through the softmax). Head 1 is untouched.
            let head0Column3 = (0..<T).map { got[$0 * C + 3] }
            XCTAssertTrue(part == 0 ? got[5 * C + 3].isNaN : head0Column3.allSatisfy(\.isNaN), "part \(part), \(value)")
            XCTAssertTrue((0..<T).allSatisfy { i in (hs..<C).allSatisfy { got[i * C + $0].isFinite } }, "head 1 stays finite")
        }
    }
}
