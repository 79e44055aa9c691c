// Scratch sizes of the kernels that need per-worker scratch: arithmetic on the shape alone,
// the same whichever vector path runs the kernel.

/// Floats of scratch `attentionBackward` needs: two T×T matrices per worker.
public func attentionBackwardScratchCount(seq: Int) -> Int { Parallel.workers * 2 * seq * seq }

/// Floats of scratch `layerNormBackward` needs for `channels`.
public func layerNormBackwardScratchCount(channels: Int) -> Int { Parallel.workers * 2 * channels }

/// Where `attentionForwardInt8`'s pieces lie in one worker's scratch (byte offsets, each 64-byte
/// aligned) for sequence length T and head size hs: q, k and v of one head in int8 (T,hs) each
/// with q's and k's row scales (T) and v's column scales (hs); the fp32 row a q or k row is
/// biased in (hs); the scores, first int32 then fp32 in place (T, `stride`); the probabilities
/// in u8 (T, `stride`); their 1/(255·Σe) per row (T); and p·v in int32 (T,hs).
public struct Int8AttentionScratch {
    public let stride: Int
    public let q8: Int, k8: Int, v8: Int, qScales: Int, kScales: Int, vScales: Int, row: Int
    public let scores: Int, probabilities: Int, rowScales: Int, sums: Int
    /// Bytes per worker.
    public let bytes: Int

    public init(seq T: Int, headSize hs: Int) {
        var cursor = 0
        func take(_ n: Int) -> Int {
            defer { cursor += (n + 63) / 64 * 64 }
            return cursor
        }
        stride = (T + 63) / 64 * 64
        q8 = take(T * hs); k8 = take(T * hs); v8 = take(T * hs)
        qScales = take(4 * T); kScales = take(4 * stride); vScales = take(4 * hs); row = take(4 * hs)
        scores = take(4 * T * stride); probabilities = take(T * stride); rowScales = take(4 * T); sums = take(4 * T * hs)
        bytes = cursor
    }
}

/// Bytes of scratch `attentionForwardInt8` needs (every worker's).
public func attentionInt8ScratchBytes(seq: Int, headSize: Int) -> Int {
    Parallel.workers * Int8AttentionScratch(seq: seq, headSize: headSize).bytes
}
