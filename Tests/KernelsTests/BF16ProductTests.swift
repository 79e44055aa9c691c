import Kernels
import TestSupport
import XCTest

/// bf16 training's products (`bf16:` operands of matmulForward, matmulActivationForward and
/// matmulBackward) against an fp32 emulation of bf16 rounding: the same fp32 kernels on operands
/// rounded to bfloat16 and widened back. Products of bf16 values are exact in fp32, so the two
/// differ only in summation order: |got − emulated| ≤ 1e-5 · Σ|aᵢ·bᵢ| (the same sum over
/// absolute values, element by element). Every vector path (the rounding kernel has one per
/// path), shapes from one row to several windows, with tails.
final class BF16ProductTests: XCTestCase {
    private static let shapes = [(rows: 1, inFeatures: 32, outFeatures: 48), (7, 384, 1152), (385, 384, 1536),
                                 (600, 1536, 384), (33, 19, 7)]

    override func setUpWithError() throws {
        guard BF16Products.available else {
            throw XCTSkip("SKIPPED: this CPU has no bf16 products (avx512_bf16 or AMX; it runs \(GEMM.instructionSets)): bf16 training refuses to start here")
        }
    }

    /// `values` rounded to bf16 (the kernel under test) and widened back to fp32.
    private func rounded(_ t: Tensor) -> (bits: [UInt16], widened: Tensor) {
        var bits = [UInt16](repeating: 0, count: t.count)
        bits.withUnsafeMutableBufferPointer { convertToBF16(out: $0.baseAddress!, inp: t.p, count: t.count) }
        let widened = Tensor(t.count)
        for i in 0..<t.count { widened.p[i] = Float(bitPattern: UInt32(bits[i]) << 16) }
        return (bits, widened)
    }

    private func absolute(_ t: Tensor) -> Tensor {
        let a = Tensor(t.count)
        for i in 0..<t.count { a.p[i] = abs(t.p[i]) }
        return a
    }

    private func assertWithinOrder(_ got: Tensor, _ want: Tensor, scale: Tensor, _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        var worst: Float = 0
        for i in 0..<got.count {
            worst = max(worst, abs(got.p[i] - want.p[i]) / max(scale.p[i], 1e-30))
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(label): worst |got − emulated| / Σ|terms| = \(worst)", file: file, line: line)
    }

    func testForwardIsSgemmOnRoundedOperands() throws {
        forEachKernelPath {
            for (N, C, OC) in Self.shapes {
                var rng = SeededGenerator(seed: UInt64(N * 31 + C))
                let x = Tensor(N * C, &rng), w = Tensor(OC * C, &rng, std: 0.05), b = Tensor(OC, &rng)
                let (wBits, wr) = rounded(w), xr = rounded(x).widened
                let ax = absolute(xr), aw = absolute(wr), ab = absolute(b)
                // The tensors' buffers are read through raw pointers: keep every one alive to the end.
                defer { withExtendedLifetime([x, w, b, wr, xr, ax, aw, ab]) {} }
                let scratch = [UInt16](repeating: 0, count: N * max(C, OC))
                let label = "\(N)×\(C)→\(OC)"
                wBits.withUnsafeBufferPointer { wb in
                    var input = scratch, gradient = scratch
                    input.withUnsafeMutableBufferPointer { ib in gradient.withUnsafeMutableBufferPointer { gb in
                        let ops = BF16Operands(weight: wb.baseAddress!, input: ib.baseAddress!, gradient: gb.baseAddress!)
                        // Σ|x·w| per output, the bound's scale (|b| added: the bias is part of the sum).
                        let scale = Tensor(N * OC)
                        matmulForward(out: scale.p, inp: ax.p, weight: aw.p, bias: ab.p,
                                      rows: N, inFeatures: C, outFeatures: OC)
                        let got = Tensor(N * OC), want = Tensor(N * OC)
                        matmulForward(out: got.p, inp: x.p, weight: w.p, bias: b.p, rows: N, inFeatures: C, outFeatures: OC, bf16: ops)
                        matmulForward(out: want.p, inp: xr.p, weight: wr.p, bias: b.p, rows: N, inFeatures: C, outFeatures: OC)
                        assertWithinOrder(got, want, scale: scale, "forward \(label)")
                        // It is not fp32: rounding x and w moved the products.
                        let fp32 = Tensor(N * OC)
                        matmulForward(out: fp32.p, inp: x.p, weight: w.p, bias: b.p, rows: N, inFeatures: C, outFeatures: OC)
                        XCTAssertNotEqual(got.values, fp32.values, label)
                        // With the activation: pre as above (no bias broadcast first), out = gelu(pre).
                        let pre = Tensor(N * OC), out = Tensor(N * OC), wantPre = Tensor(N * OC), wantOut = Tensor(N * OC)
                        matmulActivationForward(pre: pre.p, out: out.p, inp: x.p, weight: w.p, bias: b.p, rows: N,
                                                inFeatures: C, outFeatures: OC, activation: .gelu, bf16: ops)
                        matmulActivationForward(pre: wantPre.p, out: wantOut.p, inp: xr.p, weight: wr.p, bias: b.p, rows: N,
                                                inFeatures: C, outFeatures: OC, activation: .gelu)
                        assertWithinOrder(pre, wantPre, scale: scale, "activation forward \(label)")
                        for i in 0..<(N * OC) {
                            XCTAssertEqual(out.p[i], wantOut.p[i], accuracy: 1e-5 * max(scale.p[i], 1), "gelu \(label) [\(i)]")
                        }
                        withExtendedLifetime([scale, got, want, fp32, pre, out, wantPre, wantOut]) {}
                    } }
                }
            }
        }
    }

    func testBackwardIsSgemmOnRoundedOperands() throws {
        forEachKernelPath {
            for (N, C, OC) in Self.shapes {
                var rng = SeededGenerator(seed: UInt64(N * 17 + OC))
                let x = Tensor(N * C, &rng), w = Tensor(OC * C, &rng, std: 0.05), dout = Tensor(N * OC, &rng, std: 0.01)
                let pre = Tensor(N * C, &rng)
                let (wBits, wr) = rounded(w), xr = rounded(x).widened, dr = rounded(dout).widened
                let ad = absolute(dr), ax = absolute(xr), aw = absolute(wr)
                let label = "\(N)×\(C)→\(OC)"
                // The bounds' scales: Σ|dout·w| per input gradient, Σ|dout·x| per weight gradient.
                let dinpScale = Tensor(N * C), dweightScale = Tensor(OC * C), ignored = Tensor(OC * C)
                // The tensors' buffers are read through raw pointers: keep every one alive to the end.
                defer { withExtendedLifetime([x, w, dout, pre, wr, xr, dr, ad, ax, aw, dinpScale, dweightScale, ignored]) {} }
                matmulBackward(dinp: dinpScale.p, dweight: dweightScale.p, dbias: nil, dout: ad.p,
                               inp: ax.p, weight: aw.p, rows: N, inFeatures: C, outFeatures: OC)
                for (accumulate, activation) in [(false, nil), (true, nil), (false, Activation.gelu)] as [(Bool, Activation?)] {
                    let through = activation.map { (pre: UnsafePointer(pre.p), kind: $0) }
                    let dinp = Tensor(N * C, &rng), wantDinp = Tensor(N * C)
                    wantDinp.p.update(from: dinp.p, count: N * C)
                    let dweight = Tensor(OC * C, &rng, std: 0.01), wantDweight = Tensor(OC * C)
                    wantDweight.p.update(from: dweight.p, count: OC * C)
                    let dbias = Tensor(OC), wantDbias = Tensor(OC)
                    var input = [UInt16](repeating: 0, count: N * C), gradient = [UInt16](repeating: 0, count: N * OC)
                    wBits.withUnsafeBufferPointer { wb in
                        input.withUnsafeMutableBufferPointer { ib in gradient.withUnsafeMutableBufferPointer { gb in
                            let ops = BF16Operands(weight: wb.baseAddress!, input: ib.baseAddress!, gradient: gb.baseAddress!)
                            matmulBackward(dinp: dinp.p, dweight: dweight.p, dbias: dbias.p, dout: dout.p, inp: x.p,
                                           weight: w.p, rows: N, inFeatures: C, outFeatures: OC, accumulateInput: accumulate,
                                           throughActivation: through, bf16: ops)
                        } }
                    }
                    matmulBackward(dinp: wantDinp.p, dweight: wantDweight.p, dbias: nil, dout: dr.p, inp: xr.p,
                                   weight: wr.p, rows: N, inFeatures: C, outFeatures: OC, accumulateInput: accumulate,
                                   throughActivation: through)
                    let what = "\(label) accumulate \(accumulate) \(activation.map { "\($0)" } ?? "linear")"
                    if activation == nil {
                        // dinp's scale: the products' Σ|terms| plus what was there before.
                        let scale = Tensor(N * C)
                        for i in 0..<(N * C) { scale.p[i] = dinpScale.p[i] + (accumulate ? abs(wantDinp.p[i]) : 0) }
                        assertWithinOrder(dinp, wantDinp, scale: scale, "dinp \(what)")
                    } else {
                        for i in 0..<(N * C) {
                            XCTAssertEqual(dinp.p[i], wantDinp.p[i], accuracy: 1e-5 * max(dinpScale.p[i], 1e-30) * 1.2,
                                           "dinp through gelu \(what) [\(i)]")
                        }
                    }
                    let scale = Tensor(OC * C)
                    for i in 0..<(OC * C) { scale.p[i] = dweightScale.p[i] + abs(wantDweight.p[i]) }
                    assertWithinOrder(dweight, wantDweight, scale: scale, "dweight \(what)")
                    // dbias: the column sums of the fp32 dout, as the fp32 kernel gives them.
                    matmulBackward(dinp: nil, dweight: ignored.p, dbias: wantDbias.p, dout: dout.p, inp: x.p, weight: w.p,
                                   rows: N, inFeatures: C, outFeatures: OC)
                    XCTAssertEqual(dbias.values, wantDbias.values, "dbias \(what)")
                    withExtendedLifetime([dinp, wantDinp, dweight, wantDweight, dbias, wantDbias, scale]) {}
                }
            }
        }
    }
}
