import BERT
import Foundation
import Kernels
import TestSupport
import XCTest

/// int8 inference (`--precision int8`): the quantization of input rows on every vector path, the
/// int8 product against an independent integer reference (exact int32 sums, so the only
/// difference allowed is fp32's rounding of the scaling), weights that cannot be quantized,
/// and whole models of every architecture against their fp32 logits and answers.
final class Int8InferenceTests: XCTestCase {
    /// Symmetric per-row quantization as the kernels define it, written plainly: scale =
    /// max |x| / 127, q = x · (127 / max |x|) rounded to nearest even.
    private func referenceQuantize(_ row: ArraySlice<Float>) -> (values: [Int8], scale: Float) {
        let amax = row.map(abs).max() ?? 0
        guard amax > 0 else { return (Array(repeating: 0, count: row.count), 0) }
        let inverse = 127 / amax
        return (row.map { Int8(min(max($0 * inverse, -127), 127).rounded(.toNearestOrEven)) }, amax / 127)
    }

    func testQuantizeRowsMatchesTheReferenceOnEveryPath() throws {
        var rng = SeededGenerator(seed: 31)
        for columns in [37, 64, 5] {
            let rows = 9
            var x = (0..<(rows * columns)).map { _ in Float.random(in: -3...3, using: &rng) }
            for c in 0..<columns { x[2 * columns + c] = 0 }           // a row of zeros
            x[3 * columns + columns / 2] = .nan                       // a NaN
            x[4 * columns] = -.infinity                               // an infinity
            x[5 * columns] = 2; x[5 * columns + 1] = 1; x[5 * columns + 2] = -0.5  // ties: 63.5 → 64, -31.75 → -32
            for c in 3..<columns { x[5 * columns + c] = 0.25 }
            x[6 * columns + 1] = 1e30                                 // one huge value: the rest round to 0
            try forEachKernelPath {
                var q = [Int8](repeating: 99, count: rows * columns), scales = [Float](repeating: -1, count: rows)
                quantizeRowsInt8(out: &q, scales: &scales, inp: x, rows: rows, columns: columns)
                for r in 0..<rows {
                    let slice = x[(r * columns)..<((r + 1) * columns)]
                    let got = Array(q[(r * columns)..<((r + 1) * columns)])
                    if r == 3 || r == 4 {
                        XCTAssertTrue(scales[r].isNaN, "row \(r) holds NaN/inf: scale NaN, so its products are NaN")
                        XCTAssertEqual(got, Array(repeating: 0, count: columns))
                        continue
                    }
                    let want = referenceQuantize(slice)
                    XCTAssertEqual(scales[r], want.scale, "row \(r), \(columns) columns")
                    XCTAssertEqual(got, want.values, "row \(r), \(columns) columns")
                }
                XCTAssertEqual(Array(q[(5 * columns)..<(5 * columns + 3)]), [127, 64, -32])
                XCTAssertEqual(scales[2], 0)
            }
        }
    }

    func testScaleRowsOnEveryPath() throws {
        let rows = 3, columns = 21
        let x = (0..<(rows * columns)).map { Float($0) - 30 }, scales: [Float] = [0.5, -2, .nan]
        try forEachKernelPath {
            var y = x
            scaleRows(&y, scales: scales, rows: rows, columns: columns)
            for r in 0..<rows {
                for c in 0..<columns {
                    let want = x[r * columns + c] * scales[r], got = y[r * columns + c]
                    XCTAssertTrue(got == want || (got.isNaN && want.isNaN), "(\(r), \(c)): \(got) vs \(want)")
                }
            }
        }
    }

    /// The int8 product equals the exact integer product of the quantized inputs and weights,
    /// scaled by the input row's and the output channel's scales (fp32 rounding of those two
    /// multiplications only), for row counts that run as several pieces and tails. Includes the
    /// worst case for saturation: every input and weight at its largest magnitude, of one sign
    /// (a kernel adding u8·s8 pairs in 16-bit lanes would halve those sums), an all-zero output
    /// channel, an outlier channel and a zero input row.
    func testInt8LinearComputesTheExactIntegerProduct() throws {
        var rng = SeededGenerator(seed: 32)
        let levels = PackedLinear.int8WeightLevels
        XCTAssertTrue(levels == 127 || levels == 63)
        for (K, N) in [(96, 80), (384, 40), (7, 5)] {
            var weight = (0..<(N * K)).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
            for k in 0..<K { weight[1 * K + k] = 0 }       // an all-zero channel
            for k in 0..<K { weight[2 * K + k] = 0.3 }     // all at the largest magnitude, positive
            for k in 0..<K { weight[3 * K + k] = -0.3 }    // ... negative
            weight[4 * K] = 40                             // an outlier
            let layer = try PackedLinear(weight: weight, bias: nil, inFeatures: K, outFeatures: N, precision: .int8)
            // The weights as the reference quantizes them: per output channel, symmetric.
            var wq = [Int32](repeating: 0, count: N * K), ws = [Float](repeating: 0, count: N)
            for n in 0..<N {
                let row = weight[(n * K)..<((n + 1) * K)], amax = row.map(abs).max()!
                guard amax > 0 else { continue }
                ws[n] = amax / levels
                for k in 0..<K { wq[n * K + k] = Int32(min(max(weight[n * K + k] * (levels / amax), -levels), levels).rounded(.toNearestOrEven)) }
            }
            XCTAssertEqual(layer.weightScales, ws, "\(K) → \(N): the weights' scales")
            let pad = PackedScratchpad()
            for rows in K == 7 ? [1, 17, 32, 77, 600, 8192 + 8192 + 77, 1] : [1, 17, 32, 77, 600, 1] {
                var x = (0..<(rows * K)).map { _ in Float.random(in: -2...2, using: &rng) }
                if rows > 2 {
                    for k in 0..<K { x[k] = 1.5; x[K + k] = 0 }  // every input at its largest; a zero row
                }
                var staging = [UInt8](repeating: 0, count: PackedLinear.stagingBytes(precision: .int8, rows: rows, inFeatures: K))
                var got = [Float](repeating: .nan, count: rows * N)
                try got.withUnsafeMutableBytes {
                    try layer.forward(out: $0.baseAddress!, fp32Input: x, rows: rows, staging: &staging, scratchpad: pad)
                }
                var worst: Float = 0
                for r in 0..<rows {
                    let (xq, xs) = referenceQuantize(x[(r * K)..<((r + 1) * K)])
                    for n in 0..<N {
                        var sum: Int32 = 0
                        for k in 0..<K { sum += Int32(xq[k]) * wq[n * K + k] }
                        let want = Float(sum) * ws[n] * xs
                        worst = max(worst, abs(got[r * N + n] - want) / max(abs(want), 1e-6))
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1e-6, "\(rows) × \(K) → \(N): int8 product against the exact integer one")
            }
        }
    }

    func testWeightsHoldingNaNAreRefusedByName() throws {
        let config = BertConfig(vocabSize: 30522, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                                intermediateSize: 128, maxPositionEmbeddings: 512)
        let model = try BertForQuestionAnswering(config: config, seed: 3)
        let dense = model.architecture.encoder.layers[1].intermediate.dense.weight
        model.parameters.pointer[dense.offset + 17] = .infinity
        XCTAssertThrowsError(try BertInferenceModel(model, precision: .int8)) { error in
            XCTAssertEqual("\(error)".contains("bert.encoder.layer.1.intermediate.dense.weight"), true, "\(error)")
            XCTAssertEqual("\(error)".contains("int8"), true, "\(error)")
        }
        XCTAssertThrowsError(try PackedLinear(weight: [1, .nan, 2, 3], bias: nil, inFeatures: 2, outFeatures: 2,
                                              precision: .int8))
        // All-zero weights quantize to zeros with scale 0: the products are exactly 0.
        model.parameters.pointer[dense.offset + 17] = 0
        for i in 0..<dense.count { model.parameters.pointer[dense.offset + i] = 0 }
        let zero = try PackedLinear(weight: model.parameters.pointer + dense.offset, bias: nil,
                                    inFeatures: dense.shape[1], outFeatures: dense.shape[0], precision: .int8)
        var out = [Float](repeating: .nan, count: 2 * dense.shape[0])
        var staging = [UInt8](repeating: 0, count: PackedLinear.stagingBytes(precision: .int8, rows: 2, inFeatures: dense.shape[1]))
        let x = [Float](repeating: 0.7, count: 2 * dense.shape[1])
        try out.withUnsafeMutableBytes {
            try zero.forward(out: $0.baseAddress!, fp32Input: x, rows: 2, staging: &staging, scratchpad: PackedScratchpad())
        }
        XCTAssertEqual(out, [Float](repeating: 0, count: out.count))
        XCTAssertNoThrow(try BertInferenceModel(model, precision: .int8))
    }

    /// MiniLM-L6 + the seed-0 head in int8 against HF's fp32 logits, and the same windows one
    /// at a time against the batch: every window's logits depend on that window alone (per-row
    /// input scales, exact integer sums).
    func testMiniLMInt8LogitsNearTransformersFP32() throws {
        let (model, _, ref) = try GoldenMiniLM.load()
        let batch = try ReferenceBatch(ref)
        let snapshot = try BertInferenceModel(model, precision: .int8)
        XCTAssertEqual(snapshot.precision, .int8)
        XCTAssertTrue(snapshot.hasPackedWeights)
        let int8 = try batch.run(model, snapshot: snapshot)
        let refStart = try ref.floats("start_logits"), refEnd = try ref.floats("end_logits")
        let startDiff = maxAbsDifference(int8.start, refStart), endDiff = maxAbsDifference(int8.end, refEnd)
        print("MiniLM-L6 int8 (weights ±\(PackedLinear.int8WeightLevels)) vs HF fp32: start logits max |Δ| \(startDiff), end \(endDiff)")
        XCTAssertLessThanOrEqual(startDiff, 0.1)
        XCTAssertLessThanOrEqual(endDiff, 0.1)
        let B = batch.batch.batchSize, T = batch.batch.sequenceLength
        for b in 0..<B {
            let one = try BertBatch(batchSize: 1, sequenceLength: T,
                                    inputIDs: Array(batch.batch.inputIDs[(b * T)..<((b + 1) * T)]),
                                    tokenTypeIDs: Array(batch.batch.tokenTypeIDs[(b * T)..<((b + 1) * T)]),
                                    attentionMask: Array(batch.batch.attentionMask[(b * T)..<((b + 1) * T)]))
            let alone = try snapshot.predict(one)
            XCTAssertLessThanOrEqual(maxAbsDifference(alone.startLogits, Array(int8.start[(b * T)..<((b + 1) * T)])), 1e-4,
                                     "window \(b) alone vs in the batch")
        }
    }

    /// Every architecture's tiny fixture runs in int8 (ALBERT's shared layer packed once,
    /// DeBERTa's relative positions in fp32 beside it), near its fp32 logits.
    func testEveryArchitectureRunsInInt8() throws {
        for family in ArchitectureParityTests.families {
            let folder = ArchitectureParityTests.fixture(family)
            let (model, _) = try BertForQuestionAnswering.load(from: folder.appendingPathComponent("model"))
            let ref = try SafetensorsFile(contentsOf: folder.appendingPathComponent("reference.safetensors"))
            let input = try ReferenceBatch(ref)
            let snapshot = try BertInferenceModel(model, precision: .int8)
            // Attention in int8 too exactly where oneDNN has VNNI, and never DeBERTa's relative one.
            XCTAssertEqual(snapshot.hasInt8Attention, PackedLinear.hasInt8DotProducts && model.config.relativeAttention == nil, family)
            XCTAssertFalse(try BertInferenceModel(model, precision: .fp32, packedWeights: true).hasInt8Attention, family)
            let int8 = try input.run(model, snapshot: snapshot)
            let wantStart = try ref.floats("start_logits"), wantEnd = try ref.floats("end_logits")
            let scale = max(wantStart.map(abs).max() ?? 1, wantEnd.map(abs).max() ?? 1)
            let diff = max(maxAbsDifference(int8.start, wantStart), maxAbsDifference(int8.end, wantEnd))
            print("\(family) int8 vs HF fp32: logits max |Δ| \(diff) (largest |logit| \(scale))")
            XCTAssertLessThanOrEqual(diff, 0.05 * scale, family)
            XCTAssertGreaterThan(diff, 0, "\(family): int8 ran (not the fp32 path)")
        }
    }
}
