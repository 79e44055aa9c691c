import Kernels
import TestSupport
import XCTest

/// The fused inference attention against the two-sgemm path (the one training uses, which the
/// gradient and golden tests check against PyTorch), on shapes the fused kernel's edges meet:
/// sequence lengths that are not multiples of 16 or 64, head sizes 16/32/48/64, padded keys,
/// and a batch entry whose keys are all masked (HF makes its rows uniform). The scratch of T·T
/// floats decides the kernel's query-row block: 32 rows (T 130, 200), 16 (T 100, hs 32), 8
/// (T 90); T = 5 is too short for any and checks the fallback.
final class FusedAttentionTests: XCTestCase {
    func testFusedMatchesTheSgemmPath() {
        forEachKernelPath {
            var rng = SystemRandomNumberGenerator()
            for (T, hs, heads) in [(61, 32, 2), (100, 64, 2), (130, 16, 3), (77, 48, 1), (200, 32, 4), (100, 32, 3), (90, 32, 2), (5, 32, 1)] {
                let B = 3, C = hs * heads
                let qkv = (0 ..< B * T * 3 * C).map { _ in Float.random(in: -2 ... 2, using: &rng) }
                var mask = [Float](repeating: 0, count: B * T)
                for j in (T * 2 / 3) ..< T { mask[T + j] = -Float.greatestFiniteMagnitude }  // entry 1: padded tail
                for j in 0 ..< T { mask[2 * T + j] = -Float.greatestFiniteMagnitude }         // entry 2: all masked
                var fused = [Float](repeating: .nan, count: B * T * C), reference = fused
                var scratch = [Float](repeating: 0, count: max(Parallel.workers, 1) * T * T)
                var saved = [Float](repeating: 0, count: B * heads * T * T)
                qkv.withUnsafeBufferPointer { x in
                    mask.withUnsafeBufferPointer { m in
                        attentionForward(ctx: &fused, att: &scratch, qkv: x.baseAddress!, mask: m.baseAddress!,
                                         batch: B, seq: T, channels: C, heads: heads, saveProbabilities: false)
                        attentionForward(ctx: &reference, att: &saved, qkv: x.baseAddress!, mask: m.baseAddress!,
                                         batch: B, seq: T, channels: C, heads: heads, saveProbabilities: true)
                    }
                }
                var worst: Float = 0
                for i in fused.indices { worst = max(worst, abs(fused[i] - reference[i])) }
                XCTAssertLessThan(worst, 1e-5, "T \(T), hs \(hs): worst difference \(worst)")
            }
        }
    }
}

/// Inference's q|k|v bias added inside attention (fused kernel: while packing; fallback: in
/// place first) against the bias added to qkv beforehand.
final class AttentionBiasTests: XCTestCase {
    func testBiasInsideAttentionMatchesBiasedInput() {
        forEachKernelPath {
            var rng = SystemRandomNumberGenerator()
            for (T, hs, heads) in [(130, 32, 2), (100, 64, 2), (5, 32, 1)] {
                let B = 2, C = hs * heads
                var qkv = (0 ..< B * T * 3 * C).map { _ in Float.random(in: -2 ... 2, using: &rng) }
                let bias = (0 ..< 3 * C).map { _ in Float.random(in: -1 ... 1, using: &rng) }
                var biased = qkv
                for i in biased.indices { biased[i] += bias[i % (3 * C)] }
                var mask = [Float](repeating: 0, count: B * T)
                for j in (T / 2) ..< T { mask[T + j] = -Float.greatestFiniteMagnitude }
                var inside = [Float](repeating: .nan, count: B * T * C), reference = inside
                var scratch = [Float](repeating: 0, count: Parallel.workers * T * T)
                var saved = [Float](repeating: 0, count: B * heads * T * T)
                mask.withUnsafeBufferPointer { m in
                    bias.withUnsafeBufferPointer { b in
                        attentionForward(ctx: &inside, att: &scratch, qkv: &qkv, mask: m.baseAddress!,
                                         batch: B, seq: T, channels: C, heads: heads, saveProbabilities: false,
                                         qkvBias: b.baseAddress!)
                    }
                    attentionForward(ctx: &reference, att: &saved, qkv: &biased, mask: m.baseAddress!,
                                     batch: B, seq: T, channels: C, heads: heads, saveProbabilities: true)
                }
                var worst: Float = 0
                for i in inside.indices { worst = max(worst, abs(inside[i] - reference[i])) }
                XCTAssertLessThan(worst, 1e-5, "T \(T), hs \(hs): worst difference \(worst)")
            }
        }
    }
}

/// Training: the fused kernel also writes the softmax the backward reads and drops
/// probabilities before ·v with the same mask elements as the sgemm path.
final class FusedTrainingAttentionTests: XCTestCase {
    func testFusedTrainingMatchesTheSgemmPath() {
        forEachKernelPath {
            var rng = SystemRandomNumberGenerator()
            for (T, hs, heads, p) in [(61, 32, 2, Float(0.1)), (100, 64, 2, 0.3), (130, 16, 3, 0), (200, 32, 4, 0.1), (100, 32, 3, 0.1),
                                     (90, 32, 2, 0.2), (5, 32, 1, 0.1)] {
                let B = 3, C = hs * heads
                let qkv = (0 ..< B * T * 3 * C).map { _ in Float.random(in: -2 ... 2, using: &rng) }
                var mask = [Float](repeating: 0, count: B * T)
                for j in (T * 2 / 3) ..< T { mask[T + j] = -Float.greatestFiniteMagnitude }
                for j in 0 ..< T { mask[2 * T + j] = -Float.greatestFiniteMagnitude }
                let drop = DropoutMask(seed: 7, stream: 3, probability: p)
                var fused = [Float](repeating: .nan, count: B * T * C), reference = fused
                var fusedAtt = [Float](repeating: .nan, count: B * heads * T * T), referenceAtt = fusedAtt
                var scratch = [Float](repeating: .nan, count: Parallel.workers * T * T), scratch2 = scratch
                qkv.withUnsafeBufferPointer { x in
                    mask.withUnsafeBufferPointer { m in
                        attentionForward(ctx: &fused, att: &fusedAtt, qkv: x.baseAddress!, mask: m.baseAddress!,
                                         batch: B, seq: T, channels: C, heads: heads, saveProbabilities: true,
                                         dropout: drop, dropped: &scratch)
                        attentionForward(ctx: &reference, att: &referenceAtt, qkv: x.baseAddress!, mask: m.baseAddress!,
                                         batch: B, seq: T, channels: C, heads: heads, saveProbabilities: true,
                                         dropout: drop, dropped: &scratch2, allowFused: false)
                    }
                }
                var worst: Float = 0, worstAtt: Float = 0
                for i in fused.indices { worst = max(worst, abs(fused[i] - reference[i])) }
                for i in fusedAtt.indices { worstAtt = max(worstAtt, abs(fusedAtt[i] - referenceAtt[i])) }
                XCTAssertLessThan(worst, 1e-5, "T \(T), hs \(hs), p \(p): worst context difference \(worst)")
                XCTAssertLessThan(worstAtt, 1e-6, "T \(T), hs \(hs), p \(p): worst probability difference \(worstAtt)")
            }
        }
    }
}
