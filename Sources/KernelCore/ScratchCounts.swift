// Scratch sizes of the kernels that need per-worker scratch: arithmetic on the shape alone,
// the same whichever vector path runs the kernel.

/// Floats of scratch `attentionBackward` needs: two T×T matrices per worker.
public func attentionBackwardScratchCount(seq: Int) -> Int { Parallel.workers * 2 * seq * seq }

/// Floats of scratch `layerNormBackward` needs for `channels`.
public func layerNormBackwardScratchCount(channels: Int) -> Int { Parallel.workers * 2 * channels }
