import KernelCore

extension SIMDKernels {
    /// Vectorized transcendental functions on 16 lanes, accurate to a few ulp, for the hot
    /// element-wise kernels (softmax, GELU). Scalar libm calls would cost more than the matmuls.

    public enum VectorMath {
        /// e^x. Range reduction x = n·ln2 + r (|r| ≤ ln2/2), a degree-6 polynomial for e^r fitted
        /// for relative error (≤ 1.7e-7 in float, ~3 ulp; e^0 = 1 exactly), then 2^n added to the
        /// exponent bits. Inputs below -87.3 give 0 (as expf underflows); above 88.7 are clamped.
        /// Why this shape: a shorter dependent chain per element, so more elements of a softmax
        /// row are in flight at once. Reducing with one multiply-add by float(ln2) (its 1.9e-9
        /// error times n adds under 1e-7 relative for |x| < 36; a softmax goes below that only for
        /// weights under e^-36 ≈ 2e-16 of its largest) and evaluating the polynomial by Estrin's
        /// scheme (r², r⁴ and three short multiply-adds side by side) halves the chain of the
        /// Cephes form (two-constant reduction, degree-7 Horner), which makes the softmax inside
        /// the fused attention faster.
        @inline(__always)
        public static func exp(_ x: Vec16) -> Vec16 {
            let clamped = vmin(vmax(x, Vec16(repeating: -87.3)), Vec16(repeating: 88.7))
            // Adding 1.5·2^23 rounds to an integer and leaves it in the low mantissa bits.
            let shifter = Vec16(repeating: 12_582_912)
            let t = fma16(clamped, Vec16(repeating: 1.442_695_04), shifter)
            let n = t - shifter
            #if BERTQA_FMA || arch(arm64)
        let r = fma16(n, Vec16(repeating: -0.693_147_180_559_945_3), clamped)
        #else
        // Without a fused multiply-add n·ln2 would round before the subtraction (≈ 1e-6 relative
        // error at |x| ≈ 20): ln2 in two parts (Cody–Waite), the first exact in n·ln2hi.
        let r = (clamped - n * Vec16(repeating: 0.693_359_375)) - n * Vec16(repeating: -2.121_944_400_546_905_8e-4)
        #endif
            let r2 = r * r, r4 = r2 * r2
            let a = r + Vec16(repeating: 1)
            let b = fma16(Vec16(repeating: 0.166_664_317_250_251_77), r, Vec16(repeating: 0.499_999_940_395_355_2))
            let c = fma16(Vec16(repeating: 0.001_384_361_297_823_488_7), r2,
                          fma16(Vec16(repeating: 0.008_374_156_430_363_655), r, Vec16(repeating: 0.041_668_001_562_356_95)))
            let p = fma16(r4, c, fma16(r2, b, a))
            // 2^n: the integer n sits in t's low bits; shift it into the exponent field and add.
            let tBits = unsafeBitCast(t, to: SIMD16<UInt32>.self)
            let pBits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
            let scaled = unsafeBitCast(pBits &+ (tBits &<< 23), to: Vec16.self)
            return scaled.replacing(with: 0, where: x .< Vec16(repeating: -87.3))
        }

        /// erf(x) as PyTorch's vectorized CPU kernel computes it (Abramowitz & Stegun 7.1.26,
        /// |error| ≤ 1.5e-7 in exact arithmetic, ≈ 5e-7 in float), so GELU matches `torch.nn.functional.gelu` closely.
        @inline(__always)
        public static func erf(_ x: Vec16) -> Vec16 { erfAndGaussian(x).erf }

        /// erf(x) as `erf`, and the exp(-x²) it computes on the way (GELU's backward needs
        /// exp(-x²/2) for its density: one exp per value instead of two).
        @inline(__always)
        public static func erfAndGaussian(_ x: Vec16) -> (erf: Vec16, gaussian: Vec16) {
            let signBits = unsafeBitCast(x, to: SIMD16<UInt32>.self) & SIMD16<UInt32>(repeating: 0x8000_0000)
            let a = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) ^ signBits, to: Vec16.self)
            // Multiply-adds (one rounding each): 8 vector operations fewer than separate * and +.
            let t = Vec16(repeating: 1) / fma16(Vec16(repeating: 0.327_591_1), a, Vec16(repeating: 1))
            var poly = fma16(Vec16(repeating: 1.061_405_429), t, Vec16(repeating: -1.453_152_027))
            poly = fma16(poly, t, Vec16(repeating: 1.421_413_741))
            poly = fma16(poly, t, Vec16(repeating: -0.284_496_736))
            poly = fma16(poly, t, Vec16(repeating: 0.254_829_592))
            poly = poly * t
            let gaussian = exp(-(a * a))
            let y = fma16(-poly, gaussian, Vec16(repeating: 1))
            return (unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) | signBits, to: Vec16.self), gaussian)
        }

        /// tanh(x) = 1 - 2 / (e^{2x} + 1), saturating cleanly at ±1.
        @inline(__always)
        public static func tanh(_ x: Vec16) -> Vec16 {
            let e = exp(x + x)
            return Vec16(repeating: 1) - Vec16(repeating: 2) / (e + Vec16(repeating: 1))
        }

    }

    /// c + a·b, fused into one rounding (one instruction per register) where the build targets a
    /// CPU with FMA; two operations elsewhere. Swift never contracts `a * b + c` on its own, so hot
    /// dot-product loops call this to reach the multiply-add throughput BLAS gets.
    @inline(__always)
    static func fma16(_ a: Vec16, _ b: Vec16, _ c: Vec16) -> Vec16 {
        #if BERTQA_FMA || arch(arm64)
        return c.addingProduct(a, b)
        #else
        return a * b + c
        #endif
    }

    // Lane-wise max/min as compare + select. The standard library's pointwiseMax/clamped follow
    // IEEE NaN rules lane by lane and compile to scalar loops; these stay in vector registers.
    @inline(__always)
    static func vmax(_ a: Vec16, _ b: Vec16) -> Vec16 { a.replacing(with: b, where: a .< b) }

    @inline(__always)
    static func vmin(_ a: Vec16, _ b: Vec16) -> Vec16 { a.replacing(with: b, where: b .< a) }

    // Reductions across lanes, written here rather than the standard library's `sum()`/`max()`:
    // those are generic, and a specialization the compiler emits out of line carries the same
    // symbol in every vector path, so the linker would keep one path's copy (AVX-512
    // instructions, say) for all of them. VectorPathTests checks that none is shared.

    /// The lanes' sum in lane order (the order of the standard library's `sum()`).
    @inline(__always)
    static func laneSum(_ v: Vec16) -> Float {
        var sum: Float = -0.0
        for i in 0..<16 { sum += v[i] }
        return sum
    }
}
