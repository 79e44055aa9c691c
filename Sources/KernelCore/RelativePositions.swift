import Foundation

/// The position side of one layer's disentangled attention.
public struct RelativeAttentionPositions {
    /// (T,T): r(i,j) = clamp(bucket(i − j) + S, 0, 2S − 1), for the current T.
    public let index: UnsafePointer<Int32>
    /// (2S, C), heads side by side: the c2p keys (nil without c2p) and p2c queries (nil without p2c).
    public let keys: UnsafePointer<Float>?
    public let queries: UnsafePointer<Float>?
    /// 2S: the position rows.
    public let rows: Int
    /// 1/√(head size · factor)
    public let scale: Float

    public init(index: UnsafePointer<Int32>, keys: UnsafePointer<Float>?, queries: UnsafePointer<Float>?,
                rows: Int, scale: Float) {
        self.index = index
        self.keys = keys
        self.queries = queries
        self.rows = rows
        self.scale = scale
    }
}

/// DeBERTa's `make_log_bucket_position` + `build_relative_position`, clamped and offset as
/// the c2p gather uses it: index (T,T) of query i, key j. `buckets` ≤ 0: no bucketing.
public func relativePositionIndex(_ index: UnsafeMutablePointer<Int32>, seq: Int, buckets: Int, maxPosition: Int,
                                  span: Int) {
    for i in 0..<seq {
        for j in 0..<seq {
            let bucket = buckets > 0 && maxPosition > 0 ? logBucket(i - j, buckets: buckets, maxPosition: maxPosition) : i - j
            index[i * seq + j] = Int32(min(max(bucket + span, 0), 2 * span - 1))
        }
    }
}

/// torch's arithmetic: float32 logs and ceil for |δ| > mid, δ itself nearer.
@inline(__always)
func logBucket(_ delta: Int, buckets: Int, maxPosition: Int) -> Int {
    let mid = buckets / 2
    let absolute = delta < mid && delta > -mid ? mid - 1 : abs(delta)
    if absolute <= mid { return delta }
    let ratio = log(Float(absolute) / Float(mid))
    let base = log(Float(Double(maxPosition - 1) / Double(mid)))  // a Python float made a float32 tensor
    let logPosition = (ratio / base * Float(mid - 1)).rounded(.up) + Float(mid)
    return Int(logPosition) * (delta < 0 ? -1 : 1)
}

/// Floats of per-worker scratch the forward needs: the c2p and p2c products (T × 2S each).
public func relativeAttentionScratchCount(seq: Int, rows: Int) -> Int { Parallel.workers * 2 * seq * rows }


/// Floats of scratch the backward needs: per worker two T×T and two T×2S matrices, and the
/// worker's partial dpk and dpq (2S×C each).
public func relativeAttentionBackwardScratchCount(seq: Int, rows: Int, channels: Int) -> Int {
    Parallel.workers * (2 * seq * seq + 2 * seq * rows + 2 * rows * channels)
}
