import BERT
import Foundation
import Kernels
import Synchronization
import TestSupport
import XCTest

/// Packed inference weights (`PackedLinear`): the fp32 product against sgemm, concurrent
/// forwards; the opt-in bf16 path (rounding, the bf16 product, the whole model against Hugging
/// Face's fp32 reference with a bf16-sized tolerance), whose tests skip loudly on CPUs without
/// bf16 matrix kernels.
final class PackedLinearTests: XCTestCase {
    /// Nearest bf16 by value, ties to the even one (for finite |x| < 2^127): an independent
    /// reference for `convertToBF16`'s bit trick.
    private func referenceBF16(_ x: Float) -> UInt16 {
        let low = x.bitPattern & 0xFFFF_0000
        let down = Double(Float(bitPattern: low)), up = Double(Float(bitPattern: low &+ 0x1_0000))
        let dd = abs(Double(x) - down), du = abs(up - Double(x))
        let even = (low >> 16) & 1 == 0
        return UInt16((dd < du || (dd == du && even) ? low : low &+ 0x1_0000) >> 16)
    }

    func testConvertToBF16RoundsToNearestEven() {
        var values: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.leastNonzeroMagnitude,
                               Float(bitPattern: 0x3F80_8000),  // tie, even below: rounds down
                               Float(bitPattern: 0x3F81_8000),  // tie, odd below: rounds up
                               Float(bitPattern: 0x3F80_8001), Float(bitPattern: 0x3F80_7FFF), 1e-40, 3.14159265]
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<5000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBFFF_FFFF)) }
        values.append(contentsOf: (0..<7).map { Float($0) / 7 })  // a tail past the last 16 lanes
        var out = [UInt16](repeating: 0, count: values.count)
        convertToBF16(out: &out, inp: values, count: values.count)
        for (i, x) in values.enumerated() where x.isFinite && abs(x) < 0x1p127 {
            XCTAssertEqual(out[i], referenceBF16(x), "element \(i): \(x) (bits \(String(x.bitPattern, radix: 16)))")
        }
        XCTAssertEqual(out[4], 0x7F80, "+inf")
        XCTAssertEqual(out[5], 0xFF80, "-inf")
        XCTAssertEqual(out[7], 0x7F80, "the largest float is past the last bf16's half-way point: +inf")
        XCTAssertTrue(Float(bitPattern: UInt32(out[6]) << 16).isNaN, "NaN must stay NaN")
    }

    /// The bf16 product equals the exact product of the bf16-rounded inputs and weights up to
    /// fp32 accumulation (no other rounding inside), with bias and GELU applied after it, for row
    /// counts that each compile their own kernel.
    func testBF16LinearComputesTheRoundedProduct() throws {
        let K = 96, N = 80
        var rng = SeededGenerator(seed: 11)
        let weight = (0..<(N * K)).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
        let bias = (0..<N).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        let plain: PackedLinear, gelu: PackedLinear
        do {
            plain = try PackedLinear(weight: weight, bias: nil, inFeatures: K, outFeatures: N, precision: .bf16)
            gelu = try PackedLinear(weight: weight, bias: bias, inFeatures: K, outFeatures: N, precision: .bf16,
                                    activation: .gelu, bf16Output: true)
        } catch let error as PackedLinearError {
            throw XCTSkip("SKIPPED: no bf16 matrix kernels on this CPU (\(error))")
        }
        func rounded(_ v: [Float]) -> [Float] {
            var h = [UInt16](repeating: 0, count: v.count)
            convertToBF16(out: &h, inp: v, count: v.count)
            return h.map { Float(bitPattern: UInt32($0) << 16) }
        }
        let w16 = rounded(weight), pad = PackedScratchpad()
        for rows in [1, 17, 32, 77, 256, 300, 600] {  // exact, pieces, overlapping tails
            let x = (0..<(rows * K)).map { _ in Float.random(in: -2...2, using: &rng) }
            var x16 = [UInt16](repeating: 0, count: x.count)
            convertToBF16(out: &x16, inp: x, count: x.count)
            let xr = rounded(x)
            var out = [Float](repeating: .nan, count: rows * N)
            var act = [UInt16](repeating: 0, count: rows * N)
            try out.withUnsafeMutableBytes { try plain.forward(out: $0.baseAddress!, inp: x16, rows: rows, scratchpad: pad) }
            try act.withUnsafeMutableBytes { try gelu.forward(out: $0.baseAddress!, inp: x16, rows: rows, scratchpad: pad) }
            var worst = 0.0, worstActivation = 0.0
            for r in 0..<rows {
                for n in 0..<N {
                    var exact = 0.0, magnitude = 0.0
                    for k in 0..<K {
                        let t = Double(xr[r * K + k]) * Double(w16[n * K + k])
                        exact += t
                        magnitude += abs(t)
                    }
                    worst = max(worst, abs(Double(out[r * N + n]) - exact) / max(magnitude, 1e-3))
                    let pre = exact + Double(bias[n])
                    let g = 0.5 * pre * (1 + erf(pre / 2.0.squareRoot()))
                    let got = Double(Float(bitPattern: UInt32(act[r * N + n]) << 16))
                    // bf16 output: 8 significant bits, so within 2^-8 relative (plus GELU's own rounding).
                    worstActivation = max(worstActivation, abs(got - g) / max(abs(g), 1e-2))
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-6, "rows \(rows): fp32 output vs the exact product of the rounded operands")
            XCTAssertLessThanOrEqual(worstActivation, 1e-2, "rows \(rows): bf16 GELU output")
        }
    }

    /// The packed fp32 product equals `matmulForward`'s (sgemm) up to fp32 summation order, with
    /// and without bias, for row counts that each compile their own kernel (whole pieces of 512,
    /// multiples of 32, overlapping tails), and at shapes below one register block.
    func testPackedFP32LinearMatchesSgemm() throws {
        var rng = SeededGenerator(seed: 12)
        for (K, N) in [(96, 80), (384, 1152), (7, 5)] {
            let weight = (0..<(N * K)).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
            let bias = (0..<N).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
            let plain = try PackedLinear(weight: weight, bias: nil, inFeatures: K, outFeatures: N, precision: .fp32)
            let biased = try PackedLinear(weight: weight, bias: bias, inFeatures: K, outFeatures: N, precision: .fp32)
            // A scratchpad that must drop its cached memory objects before nearly every product.
            let roomy = PackedScratchpad(), cramped = PackedScratchpad(memoryLimit: 4)
            for rows in [1, 17, 32, 77, 300, 600, 1100, 77, 1] {
                let pad = rows % 2 == 0 ? roomy : cramped
                let x = (0..<(rows * K)).map { _ in Float.random(in: -2...2, using: &rng) }
                for (layer, b) in [(plain, nil), (biased, bias)] as [(PackedLinear, [Float]?)] {
                    var expected = [Float](repeating: 0, count: rows * N), got = [Float](repeating: .nan, count: rows * N)
                    if let b {
                        matmulForward(out: &expected, inp: x, weight: weight, bias: b, rows: rows, inFeatures: K, outFeatures: N)
                    } else {
                        matmulForward(out: &expected, inp: x, weight: weight, bias: nil, rows: rows, inFeatures: K, outFeatures: N)
                    }
                    try got.withUnsafeMutableBytes { try layer.forward(out: $0.baseAddress!, inp: x, rows: rows, scratchpad: pad) }
                    // |Δ| ≤ 1e-6 · Σ|x·w| per output: fp32 rounding of a K-term sum in another order.
                    var worst: Float = 0
                    for r in 0..<rows {
                        for n in 0..<N {
                            var magnitude: Float = abs(b?[n] ?? 0)
                            for k in 0..<K { magnitude += abs(x[r * K + k] * weight[n * K + k]) }
                            worst = max(worst, abs(got[r * N + n] - expected[r * N + n]) / max(magnitude, 1e-3))
                        }
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-6, "\(rows) × \(K) → \(N), bias \(b != nil)")
                }
            }
        }
    }

    /// One workspace serving forwards of the trainable model (sgemm), of a packed fp32 snapshot
    /// and of a bf16 snapshot in turn (its scratch holds both kinds of buffers): each fp32 forward
    /// gives the same logits as the first of its kind, packed within 1e-5 of sgemm. And a snapshot
    /// never goes stale: weights loaded into the model afterwards leave it as it was.
    func testOneWorkspaceAcrossPrecisionsAndReloadedWeights() throws {
        let config = BertConfig(vocabSize: 30522, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                                intermediateSize: 128, maxPositionEmbeddings: 512)
        let model = try BertForQuestionAnswering(config: config, seed: 21)
        var rng = SeededGenerator(seed: 5)
        let B = 3, T = 70
        let batch = try BertBatch(batchSize: B, sequenceLength: T,
                                  inputIDs: (0..<(B * T)).map { _ in Int32(1000 + Int(rng.next() % 20000)) },
                                  tokenTypeIDs: (0..<(B * T)).map { Int32($0 % T > 20 ? 1 : 0) },
                                  attentionMask: (0..<(B * T)).map { $0 % T < T - 9 * ($0 / T) ? 1 : 0 })
        let ws = try BertWorkspace(config: config, maxBatch: B, maxSequence: T)
        func logits(_ forward: (BertBatch, BertWorkspace) throws -> Void) throws -> [Float] {
            try forward(batch, ws)
            return Array(ws.startLogits) + Array(ws.endLogits)
        }
        let sgemm = try logits(model.forward)
        let fp32 = try BertInferenceModel(model)
        let packed = try logits(fp32.forward)
        XCTAssertLessThanOrEqual(maxAbsDifference(packed, sgemm), 1e-5)
        var bf16Ran = false
        do {
            let bf16 = try BertInferenceModel(model, precision: .bf16)
            XCTAssertEqual(bf16.precision, .bf16)
            XCTAssertLessThanOrEqual(maxAbsDifference(try logits(bf16.forward), sgemm), 0.05)
            bf16Ran = true
        } catch let error as BertError {
            print("SKIPPED (part): bf16 inference unavailable on this CPU (\(error))")
        }
        XCTAssertEqual(try logits(fp32.forward), packed, "packed fp32 after bf16 in the same workspace (bf16 ran: \(bf16Ran))")
        XCTAssertEqual(try logits(model.forward), sgemm)

        // New weights loaded into the model: the snapshot keeps the old ones; a new one follows.
        let other = try BertForQuestionAnswering(config: config, seed: 22)
        let folder = try TinyModel.temporaryFolder("packed-reload")
        defer { try? FileManager.default.removeItem(at: folder) }
        try other.save(to: folder)
        let expected = try other.predict(batch)
        _ = try model.loadTensors(from: SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")))
        XCTAssertEqual(try logits(fp32.forward), packed, "a snapshot does not change with the model")
        XCTAssertEqual(try logits(model.forward), expected.startLogits + expected.endLogits)
        XCTAssertLessThanOrEqual(maxAbsDifference(try logits(BertInferenceModel(model).forward),
                                                  expected.startLogits + expected.endLogits), 1e-5)
    }

    /// MiniLM-L6 + the seed-0 head in bf16 against HF's fp32 logits: within a bf16-sized
    /// tolerance, the same best start and end token in every window; releasing the packed weights
    /// restores the sgemm path's fp32 logits bit for bit, and a training-mode forward ignores bf16.
    func testMiniLMBF16LogitsNearTransformersFP32() throws {
        let (model, _, ref) = try GoldenMiniLM.load()
        let batch = try ReferenceBatch(ref)
        let fp32 = try batch.run(model)
        let snapshot: BertInferenceModel
        do {
            snapshot = try BertInferenceModel(model, precision: .bf16)
        } catch let error as BertError {
            throw XCTSkip("SKIPPED: bf16 inference unavailable on this CPU (\(error))")
        }
        XCTAssertEqual(snapshot.precision, .bf16)
        let bf16 = try batch.run(model, snapshot: snapshot)
        let refStart = try ref.floats("start_logits"), refEnd = try ref.floats("end_logits")
        let startDiff = maxAbsDifference(bf16.start, refStart), endDiff = maxAbsDifference(bf16.end, refEnd)
        print("MiniLM-L6 bf16 vs HF fp32: start logits max |Δ| \(startDiff), end \(endDiff), loss \(bf16.loss) vs \(fp32.loss)")
        XCTAssertLessThanOrEqual(startDiff, 0.02)
        XCTAssertLessThanOrEqual(endDiff, 0.02)
        XCTAssertEqual(bf16.loss, fp32.loss, accuracy: 0.005)
        let T = batch.batch.sequenceLength
        let mask = batch.batch.attentionMask
        for b in 0..<batch.batch.batchSize {
            func best(_ v: [Float]) -> Int {
                (0..<T).filter { mask[b * T + $0] != 0 }.max { v[b * T + $0] < v[b * T + $1] } ?? 0
            }
            XCTAssertEqual(best(bf16.start), best(refStart), "window \(b): best start token")
            XCTAssertEqual(best(bf16.end), best(refEnd), "window \(b): best end token")
        }
        // Taking the snapshot left the model's own fp32 forward as it was, bit for bit.
        let again = try batch.run(model)
        XCTAssertEqual(again.start, fp32.start)
        XCTAssertEqual(again.end, fp32.end)
    }

    /// Inference packs fp32 weights by default where oneDNN has a kernel on a blocked layout of
    /// its own: its matmul (brgemm) on AVX-512 and up, its 1×1 convolution on AVX2 (where the
    /// matmul is only its sgemm driver). Both paths stay available on request, and give the same
    /// logits within fp32 rounding.
    func testPackingByDefaultOnlyWhereOneDNNHasPackedKernels() throws {
        #if arch(x86_64)
        let isa = GEMM.oneDNNInstructionSet
        XCTAssertEqual(PackedLinear.paysOff(for: .fp32), isa.hasPrefix("avx512") || isa.hasPrefix("avx2"), "oneDNN runs \(isa)")
        if PackedLinear.paysOff(for: .fp32) {
            let layer = try PackedLinear(weight: [Float](repeating: 0.5, count: 64 * 32), bias: nil,
                                         inFeatures: 32, outFeatures: 64, precision: .fp32)
            XCTAssertEqual(layer.primitiveDescription, isa.hasPrefix("avx512") ? "matmul" : "1×1 convolution", "oneDNN runs \(isa)")
        }
        #else
        XCTAssertFalse(PackedLinear.paysOff(for: .fp32), "oneDNN 2.6 has only reference fp32 kernels off x86-64")
        #endif
        XCTAssertTrue(PackedLinear.paysOff(for: .bf16))
        let model = try BertForQuestionAnswering(config: .miniLML6, seed: 4)
        let byDefault = try BertInferenceModel(model)
        XCTAssertEqual(byDefault.hasPackedWeights, PackedLinear.paysOff(for: .fp32))
        let packed = try BertInferenceModel(model, packedWeights: true)
        let plain = try BertInferenceModel(model, packedWeights: false)
        XCTAssertTrue(packed.hasPackedWeights)
        XCTAssertFalse(plain.hasPackedWeights)
        // Packed, the snapshot gives its fp32 linear weights' pages back (they read as zeros
        // from then on): the logits below agreeing with the plain snapshot's shows nothing
        // reads them. MiniLM-L6: 6 layers × (1152 + 384 + 1536 + 1536) × 384 floats, less the
        // part pages at each weight's ends.
        #if os(Linux)
        let linear = 6 * (1152 + 384 + 1536 + 1536) * 384 * 4
        XCTAssertGreaterThan(packed.releasedWeightBytes, linear - 6 * 4 * 2 * 4096)
        XCTAssertLessThanOrEqual(packed.releasedWeightBytes, linear)
        #endif
        XCTAssertEqual(plain.releasedWeightBytes, 0)
        var rng = SeededGenerator(seed: 5)
        let B = 2, T = 40
        let batch = try BertBatch(batchSize: B, sequenceLength: T,
                                  inputIDs: (0..<(B * T)).map { _ in Int32(1000 + Int(rng.next() % 20000)) },
                                  tokenTypeIDs: (0..<(B * T)).map { Int32($0 % T > 12 ? 1 : 0) })
        let a = try packed.predict(batch).startLogits, b = try plain.predict(batch).startLogits
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4) }
    }

    /// Forward passes on several threads at once, each with its own workspace, give the same
    /// logits as one at a time (each workspace brings its own oneDNN scratchpad), on packed fp32
    /// and on bf16 weights.
    func testConcurrentPackedForwardsMatchSequential() throws {
        let model = try BertForQuestionAnswering(config: .miniLML6, seed: 4)
        var rng = SeededGenerator(seed: 9)
        let batches = try (0..<4).map { k -> BertBatch in
            let B = 2, T = 48 + 40 * k
            return try BertBatch(batchSize: B, sequenceLength: T,
                                 inputIDs: (0..<(B * T)).map { _ in Int32(1000 + Int(rng.next() % 20000)) },
                                 tokenTypeIDs: (0..<(B * T)).map { Int32($0 % T > 10 ? 1 : 0) })
        }
        var skipped: String?
        for precision in [InferencePrecision.fp32, .bf16] {
            let snapshot: BertInferenceModel
            do {
                snapshot = try BertInferenceModel(model, precision: precision, packedWeights: true)
            } catch let error as BertError {
                skipped = "SKIPPED: bf16 inference unavailable on this CPU (\(error))"
                continue
            }
            XCTAssertTrue(snapshot.hasPackedWeights)
            let sequential = try batches.map { try snapshot.predict($0).startLogits }
            let results = Mutex<[[Float]?]>(Array(repeating: nil, count: batches.count))
            DispatchQueue.concurrentPerform(iterations: batches.count) { k in
                let logits = try? snapshot.predict(batches[k]).startLogits
                results.withLock { $0[k] = logits }
            }
            for (k, got) in results.withLock({ $0 }).enumerated() {
                XCTAssertEqual(got, sequential[k], "\(precision), batch \(k)")
            }
        }
        if let skipped { throw XCTSkip(skipped) }
    }
}
