import Foundation

/// xoshiro256** seeded through SplitMix64: a small, fast, reproducible generator for weight
/// initialization (and dropout masks in training). Same seed → same stream on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1 / Float(1 << 24))
    }

    /// Standard normal (Box–Muller, in Double for accuracy in the tails).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * (1 / 9_007_199_254_740_993.0)  // (0, 1]
        let u2 = Double(next() >> 11) * (1 / 9_007_199_254_740_992.0)
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Fills `buffer` with N(0, std²), using both values of each Box–Muller pair (random
    /// BERT-base weights are 110M draws).
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, std: Float) {
        var i = 0
        while i + 1 < buffer.count {
            let u1 = (Double(next() >> 11) + 1) * (1 / 9_007_199_254_740_993.0)
            let u2 = Double(next() >> 11) * (1 / 9_007_199_254_740_992.0)
            let r = (-2 * Foundation.log(u1)).squareRoot(), angle = 2 * Double.pi * u2
            buffer[i] = Float(r * cos(angle)) * std
            buffer[i + 1] = Float(r * sin(angle)) * std
            i += 2
        }
        if i < buffer.count { buffer[i] = nextNormal() * std }
    }
}
