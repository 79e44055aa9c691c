// Inverted dropout as PyTorch does it (kept values scaled by 1/(1-p), dropped ones 0), with
// masks from a counter-based hash instead of a stateful generator: element i of a site keeps
// its value iff hash(key, i) ≥ p·2³². The backward regenerates the same mask from the same
// key, so no mask is stored, and the same seed always gives the same step.

/// The dropout of one site (e.g. layer 3's attention probabilities) in one training step.
public struct DropoutMask: Sendable, Equatable {
    public let probability: Float
    /// 1/(1-p) for kept values (0 when p = 1: everything is dropped, as torch returns zeros).
    public let scale: Float
    /// Keep iff hash ≥ threshold; threshold = round(p · 2³²), saturated.
    @usableFromInline let threshold: UInt32
    @usableFromInline let key0: UInt32
    @usableFromInline let key1: UInt32

    /// `seed` is the step's dropout seed; `stream` names the site (layer and position in it),
    /// so two sites never share a mask.
    public init(seed: UInt64, stream: UInt64, probability: Float) {
        self.probability = probability
        scale = probability >= 1 ? 0 : 1 / (1 - probability)
        let t = (Double(probability) * 4_294_967_296).rounded()
        threshold = t >= 4_294_967_295 ? .max : (t <= 0 ? 0 : UInt32(t))
        let k = splitMix64(seed ^ splitMix64(stream &+ 0x632B_E59B_D9B4_E019))
        key0 = UInt32(truncatingIfNeeded: k)
        key1 = UInt32(truncatingIfNeeded: k >> 32)
    }

    /// Whether this dropout changes anything (p > 0).
    public var isActive: Bool { probability > 0 }

    /// Whether element `index` of the site is kept.
    @inline(__always)
    public func keeps(_ index: Int) -> Bool {
        if probability >= 1 { return false }
        return hash(SIMD16<UInt32>(repeating: UInt32(truncatingIfNeeded: index)))[0] >= threshold
    }

    /// Keep flags of elements index..<index+16. Inlinable: it compiles into each vector path.
    @inlinable @inline(__always)
    public func keep16(_ index: Int) -> SIMDMask<SIMD16<Int32>> {
        let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let h = hash(SIMD16<UInt32>(repeating: UInt32(truncatingIfNeeded: index)) &+ lanes)
        return h .>= SIMD16<UInt32>(repeating: threshold)
    }

    /// Two rounds of a 32-bit avalanche mix (Wellons' "lowbias32"), keyed: 32-bit lane
    /// multiplies vectorize on AVX2, unlike 64-bit ones.
    @inlinable @inline(__always)
    func hash(_ i: SIMD16<UInt32>) -> SIMD16<UInt32> {
        var x = i ^ SIMD16(repeating: key0)
        x = lowbias32(x) ^ SIMD16(repeating: key1)
        return lowbias32(x)
    }
}

@usableFromInline @inline(__always)
func lowbias32(_ v: SIMD16<UInt32>) -> SIMD16<UInt32> {
    var x = v
    x ^= x &>> 16
    x &*= SIMD16(repeating: 0x7FEB_352D)
    x ^= x &>> 15
    x &*= SIMD16(repeating: 0x846C_A68B)
    x ^= x &>> 16
    return x
}

@inline(__always)
func splitMix64(_ v: UInt64) -> UInt64 {
    var z = v &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
