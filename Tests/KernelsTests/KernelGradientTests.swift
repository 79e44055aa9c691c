import Kernels
import TestSupport
import XCTest

/// Finite-difference checks of every backward kernel on tiny shapes (odd sizes, so the SIMD
/// tails run too): loss = Σ out · R for a fixed random R, central differences in Float with
/// the loss summed in Double; |analytic − numeric| ≤ 2e-2·|numeric| + 2e-3·max|numeric|.
final class KernelGradientTests: XCTestCase {
    func testMatmulBackward() {
        forEachKernelPath {
            let N = 5, C = 19, OC = 7
            var rng = SeededGenerator(seed: 1)
            let x = Tensor(N * C, &rng), w = Tensor(OC * C, &rng), b = Tensor(OC, &rng)
            let out = Tensor(N * OC), r = Tensor(N * OC, &rng)
            let dx = Tensor(N * C), dw = Tensor(OC * C), db = Tensor(OC)
            func loss() -> Double {
                matmulForward(out: out.p, inp: x.p, weight: w.p, bias: b.p, rows: N, inFeatures: C, outFeatures: OC)
                return out.dot(r)
            }
            matmulBackward(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: r.p, inp: x.p, weight: w.p,
                           rows: N, inFeatures: C, outFeatures: OC)
            check(dx, x, "matmul dinp", loss)
            check(dw, w, "matmul dweight", loss)
            check(db, b, "matmul dbias", loss)
            // Accumulation: dweight and dbias add, dinp adds only when asked.
            let dw1 = dw.values, db1 = db.values
            matmulBackward(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: r.p, inp: x.p, weight: w.p,
                           rows: N, inFeatures: C, outFeatures: OC, accumulateInput: true)
            XCTAssertEqual(dw.values, dw1.map { $0 + $0 })
            XCTAssertEqual(db.values, db1.map { $0 + $0 })
        }
    }

    /// The activation fused into the dinp product equals the product then `activationBackward`,
    /// on enough rows for several 128-row pieces per worker and a ragged last piece.
    func testMatmulBackwardThroughActivation() {
        forEachKernelPath {
            let N = 601, C = 48, OC = 32
            var rng = SeededGenerator(seed: 12)
            let x = Tensor(N * C, &rng), w = Tensor(OC * C, &rng), pre = Tensor(N * C, &rng), r = Tensor(N * OC, &rng)
            for kind in Activation.allCases {
                let fused = Tensor(N * C), separate = Tensor(N * C)
                let dw1 = Tensor(OC * C), dw2 = Tensor(OC * C)
                matmulBackward(dinp: fused.p, dweight: dw1.p, dbias: nil, dout: r.p, inp: x.p, weight: w.p,
                               rows: N, inFeatures: C, outFeatures: OC, throughActivation: (UnsafePointer(pre.p), kind))
                matmulBackward(dinp: separate.p, dweight: dw2.p, dbias: nil, dout: r.p, inp: x.p, weight: w.p,
                               rows: N, inFeatures: C, outFeatures: OC)
                activationBackward(dinp: separate.p, dout: separate.p, pre: pre.p, count: N * C, kind: kind)
                var worst: Float = 0
                for i in 0..<(N * C) { worst = max(worst, abs(fused.p[i] - separate.p[i]) / max(abs(separate.p[i]), 1e-3)) }
                XCTAssertLessThan(worst, 1e-5, "\(kind): worst relative difference \(worst)")
                XCTAssertEqual(dw1.values, dw2.values, "\(kind): dweight")
            }
        }
    }

    func testLayerNormBackward() {
        forEachKernelPath {
            let N = 4, C = 21
            var rng = SeededGenerator(seed: 2)
            let x = Tensor(N * C, &rng), w = Tensor(C, &rng), b = Tensor(C, &rng)
            let out = Tensor(N * C), mean = Tensor(N), rstd = Tensor(N), r = Tensor(N * C, &rng)
            let dx = Tensor(N * C), dw = Tensor(C), db = Tensor(C)
            let scratch = Tensor(layerNormBackwardScratchCount(channels: C))
            func loss() -> Double {
                layerNormForward(out: out.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: w.p, bias: b.p,
                                 rows: N, channels: C, eps: 1e-12)
                return out.dot(r)
            }
            _ = loss()
            layerNormBackward(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: r.p, inp: x.p, weight: w.p,
                              mean: mean.p, rstd: rstd.p, rows: N, channels: C, scratch: scratch.p)
            check(dx, x, "layernorm dinp", loss)
            check(dw, w, "layernorm dweight", loss)
            check(db, b, "layernorm dbias", loss)
        }
    }

    /// LayerNorm(dropout(branch) + residual): both inputs' gradients, the branch's through the mask.
    func testResidualLayerNormWithBranchDropoutBackward() {
        forEachKernelPath {
            let N = 3, C = 40
            var rng = SeededGenerator(seed: 3)
            let branch = Tensor(N * C, &rng), residual = Tensor(N * C, &rng), w = Tensor(C, &rng), b = Tensor(C, &rng)
            let x = Tensor(N * C), out = Tensor(N * C), mean = Tensor(N), rstd = Tensor(N), r = Tensor(N * C, &rng)
            let dres = Tensor(N * C), dbranch = Tensor(N * C), dw = Tensor(C), db = Tensor(C)
            let scratch = Tensor(layerNormBackwardScratchCount(channels: C))
            let mask = DropoutMask(seed: 9, stream: 4, probability: 0.3)
            func loss() -> Double {
                x.p.update(from: branch.p, count: N * C)
                dropoutForward(x.p, count: N * C, mask: mask)
                residualLayerNormForward(out: out.p, mean: mean.p, rstd: rstd.p, x: x.p, residual: residual.p,
                                         weight: w.p, bias: b.p, rows: N, channels: C, eps: 1e-12)
                return out.dot(r)
            }
            _ = loss()
            layerNormBackward(dinp: dres.p, dweight: dw.p, dbias: db.p, dout: r.p, inp: x.p, weight: w.p,
                              mean: mean.p, rstd: rstd.p, rows: N, channels: C, scratch: scratch.p,
                              branch: dbranch.p, branchDropout: mask)
            check(dres, residual, "residual layernorm dresidual", loss)
            check(dbranch, branch, "residual layernorm dbranch (dropout)", loss)
            check(dw, w, "residual layernorm dweight", loss)
            XCTAssertTrue(dbranch.values.contains(0), "some branch elements were dropped")
        }
    }

    func testActivationBackward() {
        forEachKernelPath {
            for kind in Activation.allCases {
                let N = 37
                var rng = SeededGenerator(seed: 4)
                let x = Tensor(N, &rng, std: 2), out = Tensor(N), r = Tensor(N, &rng), dx = Tensor(N)
                func loss() -> Double {
                    activationForward(out: out.p, inp: x.p, count: N, kind: kind)
                    return out.dot(r)
                }
                activationBackward(dinp: dx.p, dout: r.p, pre: x.p, count: N, kind: kind)
                check(dx, x, "\(kind) backward", loss, h: 1e-3)
            }
        }
    }

    func testAttentionBackward() {
        forEachKernelPath {
            for p in [Float(0), 0.3] {
                let B = 2, T = 5, C = 8, NH = 2
                var rng = SeededGenerator(seed: 5)
                let qkv = Tensor(B * T * 3 * C, &rng), ctx = Tensor(B * T * C), att = Tensor(B * NH * T * T)
                let mask = Tensor(B * T), r = Tensor(B * T * C, &rng), dqkv = Tensor(B * T * 3 * C)
                mask.p[T - 1] = -Float.greatestFiniteMagnitude  // the first sequence's last key is padding
                let dropped = Tensor(Parallel.workers * T * T), scratch = Tensor(attentionBackwardScratchCount(seq: T))
                let dropout = DropoutMask(seed: 11, stream: 1, probability: p)
                func loss() -> Double {
                    attentionForward(ctx: ctx.p, att: att.p, qkv: qkv.p, mask: mask.p, batch: B, seq: T, channels: C,
                                     heads: NH, saveProbabilities: true, dropout: dropout, dropped: dropped.p)
                    return ctx.dot(r)
                }
                _ = loss()
                attentionBackward(dqkv: dqkv.p, dctx: r.p, att: att.p, qkv: qkv.p, scratch: scratch.p, dropout: dropout,
                                  batch: B, seq: T, channels: C, heads: NH)
                check(dqkv, qkv, "attention dqkv (dropout \(p))", loss)
            }
        }
    }

    func testEmbeddingBackwardScatterAddsAndSkipsPadding() {
        forEachKernelPath {
            let B = 2, T = 3, C = 18, V = 5, TV = 2
            var rng = SeededGenerator(seed: 6)
            let word = Tensor(V * C, &rng), pos = Tensor(T * C, &rng), type = Tensor(TV * C, &rng)
            let out = Tensor(B * T * C), r = Tensor(B * T * C, &rng)
            let dword = Tensor(V * C), dpos = Tensor(T * C), dtype = Tensor(TV * C)
            let ids: [Int32] = [2, 0, 2, 4, 2, 1], types: [Int32] = [0, 0, 1, 0, 1, 1]
            func loss() -> Double {
                embeddingForward(out: out.p, ids: ids, types: types, wordTable: word.p, positionTable: pos.p,
                                 typeTable: type.p, batch: B, seq: T, channels: C)
                return out.dot(r)
            }
            embeddingBackward(dwordTable: dword.p, dpositionTable: dpos.p, dtypeTable: dtype.p, dout: r.p,
                              ids: ids, types: types, paddingIndex: nil, batch: B, seq: T, channels: C)
            check(dword, word, "word table", loss)
            check(dpos, pos, "position table", loss)
            check(dtype, type, "type table", loss)
            // With padding_idx 0 the pad row gets nothing, the others are unchanged.
            let padded = Tensor(V * C), scratchPos = Tensor(T * C), scratchType = Tensor(TV * C)
            embeddingBackward(dwordTable: padded.p, dpositionTable: scratchPos.p, dtypeTable: scratchType.p, dout: r.p,
                              ids: ids, types: types, paddingIndex: 0, batch: B, seq: T, channels: C)
            XCTAssertEqual(Array(padded.values[0..<C]), [Float](repeating: 0, count: C))
            XCTAssertEqual(Array(padded.values[C...]), Array(dword.values[C...]))
        }
    }

    func testCrossEntropyBackward() {
        forEachKernelPath {
            let B = 3, K = 6
            var rng = SeededGenerator(seed: 7)
            let logits = Tensor(B * K, &rng, std: 2), probs = Tensor(B * K), dlogits = Tensor(2 * B * K)
            let targets: [Int32] = [2, Int32(K), 5]  // the middle row is ignored (target = ignore index)
            func loss() -> Double {
                let (sum, count) = crossEntropyForward(probs: probs.p, logits: logits.p, targets: targets,
                                                       batch: B, classes: K, ignoreIndex: K)
                return 0.5 * sum / Double(count)
            }
            _ = loss()
            crossEntropyBackward(dlogits: dlogits.p + 1, stride: 2, probs: probs.p, targets: targets,
                                 batch: B, classes: K, ignoreIndex: K, count: 2, weight: 0.5)
            let strided = Tensor(B * K)
            for i in 0..<(B * K) { strided.p[i] = dlogits.p[2 * i + 1] }
            check(strided, logits, "cross-entropy dlogits", loss)
            XCTAssertEqual(Array(strided.values[K..<(2 * K)]), [Float](repeating: 0, count: K), "ignored row")
        }
    }

    /// Inverted dropout: kept values × 1/(1-p), dropped 0, a kept fraction near 1-p, the same
    /// mask for the same seed and stream (and in the backward), different for other streams.
    func testDropoutMaskScalingAndDeterminism() {
        forEachKernelPath {
            let n = 100_003, p: Float = 0.25
            let mask = DropoutMask(seed: 42, stream: 7, probability: p)
            let x = Tensor(n), y = Tensor(n), dx = Tensor(n)
            for i in 0..<n { x.p[i] = Float(i % 13) + 1 }
            y.p.update(from: x.p, count: n)
            dropoutForward(y.p, count: n, mask: mask)
            var kept = 0
            for i in 0..<n {
                if y.p[i] != 0 {
                    kept += 1
                    XCTAssertEqual(y.p[i], x.p[i] * (1 / (1 - p)))
                }
                XCTAssertEqual(y.p[i] != 0, mask.keeps(i))
            }
            XCTAssertEqual(Double(kept) / Double(n), 0.75, accuracy: 0.01)
            // The backward sees the same mask: dx = dy·mask·scale.
            let ones = Tensor(n)
            ones.p.update(repeating: 1, count: n)
            dropoutBackward(dinp: dx.p, dout: ones.p, count: n, mask: mask)
            for i in stride(from: 0, to: n, by: 97) { XCTAssertEqual(dx.p[i] * x.p[i], y.p[i]) }
            // Same key → same mask; another stream or seed → another mask; p = 0 → identity.
            let again = Tensor(n)
            again.p.update(from: x.p, count: n)
            dropoutForward(again.p, count: n, mask: DropoutMask(seed: 42, stream: 7, probability: p))
            XCTAssertEqual(again.values, y.values)
            for other in [DropoutMask(seed: 42, stream: 8, probability: p), DropoutMask(seed: 43, stream: 7, probability: p)] {
                again.p.update(from: x.p, count: n)
                dropoutForward(again.p, count: n, mask: other)
                XCTAssertNotEqual(again.values, y.values)
            }
            again.p.update(from: x.p, count: n)
            dropoutForward(again.p, count: n, mask: DropoutMask(seed: 42, stream: 7, probability: 0))
            XCTAssertEqual(again.values, x.values)
            again.p.update(from: x.p, count: n)
            dropoutForward(again.p, count: n, mask: DropoutMask(seed: 42, stream: 7, probability: 1))
            XCTAssertEqual(again.values, [Float](repeating: 0, count: n))
        }
    }

    /// Compares `analytic` with central differences of `loss` w.r.t. `x` (every element, or an
    /// even sample of 60 for big tensors).
    private func check(_ analytic: Tensor, _ x: Tensor, _ name: String, _ loss: () -> Double, h: Float = 1e-2,
                       file: StaticString = #filePath, line: UInt = #line) {
        let indices = x.count <= 60 ? Array(0..<x.count) : (0..<60).map { $0 * x.count / 60 }
        var numeric: [Double] = []
        for i in indices {
            let saved = x.p[i]
            x.p[i] = saved + h
            let up = loss()
            x.p[i] = saved - h
            let down = loss()
            x.p[i] = saved
            numeric.append((up - down) / Double(2 * h))
        }
        _ = loss()
        let scale = numeric.map(abs).max() ?? 0
        for (k, i) in indices.enumerated() {
            let a = Double(analytic.p[i]), n = numeric[k]
            XCTAssertLessThanOrEqual(abs(a - n), 2e-2 * abs(n) + 2e-3 * scale,
                                     "\(name)[\(i)]: analytic \(a), numeric \(n)", file: file, line: line)
        }
    }
}

/// A small owned Float tensor for the kernel tests.
final class Tensor {
    let buffer: FloatBuffer
    var p: UnsafeMutablePointer<Float> { buffer.pointer }
    var count: Int { buffer.count }
    var values: [Float] { Array(buffer.buffer) }

    init(_ count: Int) { buffer = FloatBuffer(count: count) }

    init(_ count: Int, _ rng: inout SeededGenerator, std: Float = 1) {
        buffer = FloatBuffer(count: count)
        rng.fillNormal(buffer.buffer, std: std)
    }

    /// Σ self · other, in Double.
    func dot(_ other: Tensor) -> Double {
        var s = 0.0
        for i in 0..<count { s += Double(p[i]) * Double(other.p[i]) }
        return s
    }
}
