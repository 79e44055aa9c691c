// The element-wise kernels' math in 8- and 16-lane form, compiled for one instruction set:
// which width the vector builds of Sources/VectorKernels should be written in (SIMD32<Float>
// is no test of 32 lanes: the standard library's type compiles to scalar code, ~400× slower). The
// kernels there use 16 lanes (`Vec16`); on AVX2 each operation becomes two 256-bit
// instructions on independent halves. Here the same GELU (erf by Abramowitz & Stegun with
// bertqa's exp), softmax exp and LayerNorm row as in the kernels, once per width, on one
// window's FFN activations (384 × 3072) or rows of 768, best of 30. The two copies differ only in
// their width: written once as generic SIMD code, the bit casts and selects compiled to scalar
// loops (30–40× slower), so each width has its own. Dev tool, not built by SwiftPM:
//
//   swiftc -O -target-cpu haswell scripts/probes/lane_width.swift -o /tmp/lane_width && /tmp/lane_width
//   swiftc -O -target-cpu skylake-avx512 scripts/probes/lane_width.swift -o /tmp/lane_width512 && /tmp/lane_width512
//
// MARK: 8 lanes
@inline(__always) func vmax8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: a .< b) }
@inline(__always) func vmin8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .< a) }
@inline(__always) func fma8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> { c.addingProduct(a, b) }
@inline(__always) func vexp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = vmin8(vmax8(x, SIMD8<Float>(repeating: -87.3)), SIMD8<Float>(repeating: 88.7))
    let shifter = SIMD8<Float>(repeating: 12_582_912)
    let t = fma8(clamped, SIMD8<Float>(repeating: 1.442_695_04), shifter)
    let n = t - shifter
    let r = fma8(n, SIMD8<Float>(repeating: -0.693_147_180_559_945_3), clamped)
    let r2 = r * r, r4 = r2 * r2
    let a = r + SIMD8<Float>(repeating: 1)
    let b = fma8(SIMD8<Float>(repeating: 0.166_664_317_250_251_77), r, SIMD8<Float>(repeating: 0.499_999_940_395_355_2))
    let c = fma8(SIMD8<Float>(repeating: 0.001_384_361_297_823_488_7), r2, fma8(SIMD8<Float>(repeating: 0.008_374_156_430_363_655), r, SIMD8<Float>(repeating: 0.041_668_001_562_356_95)))
    let p = fma8(r4, c, fma8(r2, b, a))
    let tBits = unsafeBitCast(t, to: SIMD8<UInt32>.self), pBits = unsafeBitCast(p, to: SIMD8<UInt32>.self)
    let scaled = unsafeBitCast(pBits &+ (tBits &<< 23), to: SIMD8<Float>.self)
    return scaled.replacing(with: 0, where: x .< SIMD8<Float>(repeating: -87.3))
}
@inline(__always) func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let z = x * SIMD8<Float>(repeating: 0.707_106_77)
    let signBits = unsafeBitCast(z, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x8000_0000)
    let a = unsafeBitCast(unsafeBitCast(z, to: SIMD8<UInt32>.self) ^ signBits, to: SIMD8<Float>.self)
    let t = SIMD8<Float>(repeating: 1) / fma8(SIMD8<Float>(repeating: 0.327_591_1), a, SIMD8<Float>(repeating: 1))
    var poly = fma8(SIMD8<Float>(repeating: 1.061_405_429), t, SIMD8<Float>(repeating: -1.453_152_027))
    poly = fma8(poly, t, SIMD8<Float>(repeating: 1.421_413_741))
    poly = fma8(poly, t, SIMD8<Float>(repeating: -0.284_496_736))
    poly = fma8(poly, t, SIMD8<Float>(repeating: 0.254_829_592))
    poly = poly * t
    let y = fma8(-poly, vexp8(-(a * a)), SIMD8<Float>(repeating: 1))
    let erf = unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | signBits, to: SIMD8<Float>.self)
    return SIMD8<Float>(repeating: 0.5) * x * (SIMD8<Float>(repeating: 1) + erf)
}
@inline(never) func geluPass8(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: gelu8(v), as: SIMD8<Float>.self)
        i += 8
    }
}
@inline(never) func softmaxRow8(_ row: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(); let m = SIMD8<Float>(repeating: 0.5)
    var i = 0
    while i + 8 <= n {
        let e = vexp8(UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - m)
        UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD8<Float>.self)
        acc += e
        i += 8
    }
    var s: Float = 0
    for k in 0..<8 { s += acc[k] }
    return s
}
@inline(never) func layerNormRow8(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
    var acc = SIMD8<Float>(); var c = 0
    while c + 8 <= n { acc += UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD8<Float>.self); c += 8 }
    var total: Float = 0
    for k in 0..<8 { total += acc[k] }
    let mu = total / Float(n), mv = SIMD8<Float>(repeating: mu)
    acc = SIMD8<Float>(); c = 0
    while c + 8 <= n { let d = UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD8<Float>.self) - mv; acc = fma8(d, d, acc); c += 8 }
    total = 0
    for k in 0..<8 { total += acc[k] }
    let rs = SIMD8<Float>(repeating: 1 / (total / Float(n) + 1e-12).squareRoot())
    c = 0
    while c + 8 <= n {
        let x = UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD8<Float>.self)
        let y = fma8((x - mv) * rs, UnsafeRawPointer(w + c).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + c).loadUnaligned(as: SIMD8<Float>.self))
        UnsafeMutableRawPointer(out + c).storeBytes(of: y, as: SIMD8<Float>.self)
        c += 8
    }
}
// MARK: 16 lanes
@inline(__always) func vmax16(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: a .< b) }
@inline(__always) func vmin16(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: b .< a) }
@inline(__always) func fma16(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> { c.addingProduct(a, b) }
@inline(__always) func vexp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let clamped = vmin16(vmax16(x, SIMD16<Float>(repeating: -87.3)), SIMD16<Float>(repeating: 88.7))
    let shifter = SIMD16<Float>(repeating: 12_582_912)
    let t = fma16(clamped, SIMD16<Float>(repeating: 1.442_695_04), shifter)
    let n = t - shifter
    let r = fma16(n, SIMD16<Float>(repeating: -0.693_147_180_559_945_3), clamped)
    let r2 = r * r, r4 = r2 * r2
    let a = r + SIMD16<Float>(repeating: 1)
    let b = fma16(SIMD16<Float>(repeating: 0.166_664_317_250_251_77), r, SIMD16<Float>(repeating: 0.499_999_940_395_355_2))
    let c = fma16(SIMD16<Float>(repeating: 0.001_384_361_297_823_488_7), r2, fma16(SIMD16<Float>(repeating: 0.008_374_156_430_363_655), r, SIMD16<Float>(repeating: 0.041_668_001_562_356_95)))
    let p = fma16(r4, c, fma16(r2, b, a))
    let tBits = unsafeBitCast(t, to: SIMD16<UInt32>.self), pBits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
    let scaled = unsafeBitCast(pBits &+ (tBits &<< 23), to: SIMD16<Float>.self)
    return scaled.replacing(with: 0, where: x .< SIMD16<Float>(repeating: -87.3))
}
@inline(__always) func gelu16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let z = x * SIMD16<Float>(repeating: 0.707_106_77)
    let signBits = unsafeBitCast(z, to: SIMD16<UInt32>.self) & SIMD16<UInt32>(repeating: 0x8000_0000)
    let a = unsafeBitCast(unsafeBitCast(z, to: SIMD16<UInt32>.self) ^ signBits, to: SIMD16<Float>.self)
    let t = SIMD16<Float>(repeating: 1) / fma16(SIMD16<Float>(repeating: 0.327_591_1), a, SIMD16<Float>(repeating: 1))
    var poly = fma16(SIMD16<Float>(repeating: 1.061_405_429), t, SIMD16<Float>(repeating: -1.453_152_027))
    poly = fma16(poly, t, SIMD16<Float>(repeating: 1.421_413_741))
    poly = fma16(poly, t, SIMD16<Float>(repeating: -0.284_496_736))
    poly = fma16(poly, t, SIMD16<Float>(repeating: 0.254_829_592))
    poly = poly * t
    let y = fma16(-poly, vexp16(-(a * a)), SIMD16<Float>(repeating: 1))
    let erf = unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) | signBits, to: SIMD16<Float>.self)
    return SIMD16<Float>(repeating: 0.5) * x * (SIMD16<Float>(repeating: 1) + erf)
}
@inline(never) func geluPass16(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        let v = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: gelu16(v), as: SIMD16<Float>.self)
        i += 16
    }
}
@inline(never) func softmaxRow16(_ row: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>(); let m = SIMD16<Float>(repeating: 0.5)
    var i = 0
    while i + 16 <= n {
        let e = vexp16(UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) - m)
        UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD16<Float>.self)
        acc += e
        i += 16
    }
    var s: Float = 0
    for k in 0..<16 { s += acc[k] }
    return s
}
@inline(never) func layerNormRow16(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
    var acc = SIMD16<Float>(); var c = 0
    while c + 16 <= n { acc += UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD16<Float>.self); c += 16 }
    var total: Float = 0
    for k in 0..<16 { total += acc[k] }
    let mu = total / Float(n), mv = SIMD16<Float>(repeating: mu)
    acc = SIMD16<Float>(); c = 0
    while c + 16 <= n { let d = UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD16<Float>.self) - mv; acc = fma16(d, d, acc); c += 16 }
    total = 0
    for k in 0..<16 { total += acc[k] }
    let rs = SIMD16<Float>(repeating: 1 / (total / Float(n) + 1e-12).squareRoot())
    c = 0
    while c + 16 <= n {
        let x = UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD16<Float>.self)
        let y = fma16((x - mv) * rs, UnsafeRawPointer(w + c).loadUnaligned(as: SIMD16<Float>.self), UnsafeRawPointer(b + c).loadUnaligned(as: SIMD16<Float>.self))
        UnsafeMutableRawPointer(out + c).storeBytes(of: y, as: SIMD16<Float>.self)
        c += 16
    }
}

// MARK: timing
import Foundation
func time(_ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<30 { let t = Date(); body(); best = min(best, Date().timeIntervalSince(t)) }
    return best * 1e3
}
let n = 384 * 3072
let x = UnsafeMutablePointer<Float>.allocate(capacity: n), y = UnsafeMutablePointer<Float>.allocate(capacity: n)
for i in 0..<n { x[i] = Float(i % 1000) / 100 - 5 }
let w = UnsafeMutablePointer<Float>.allocate(capacity: 768), b = UnsafeMutablePointer<Float>.allocate(capacity: 768)
for i in 0..<768 { w[i] = 1 + Float(i) / 1000; b[i] = Float(i) / 2000 }
var sink: Float = 0
for round in 0..<3 {
    let g8 = time { geluPass8(y, x, n) }, g16 = time { geluPass16(y, x, n) }
    // exp rows of 384 (a softmax row), on values reset before each timing
    func reset() { for i in 0..<n { y[i] = Float(i % 1000) / 100 - 5 } }
    reset(); let s8 = time { for r in 0..<(n / 384) { sink += softmaxRow8(y + r * 384, 384) } }
    reset(); let s16 = time { for r in 0..<(n / 384) { sink += softmaxRow16(y + r * 384, 384) } }
    let l8 = time { for r in 0..<(n / 768) { layerNormRow8(y + r * 768, x + r * 768, w, b, 768) } }
    let l16 = time { for r in 0..<(n / 768) { layerNormRow16(y + r * 768, x + r * 768, w, b, 768) } }
    print(String(format: "round %d  lanes 8 / 16: GELU %.3f / %.3f ms | exp rows %.3f / %.3f | LayerNorm rows %.3f / %.3f",
                 round, g8, g16, s8, s16, l8, l16))
}
if sink == 1 { print("") }
