import BERT
import Dispatch
import Foundation
import Kernels

/// AdamW exactly as HF's Trainer uses it (`torch.optim.AdamW`, single-tensor path, fp32):
///
///     p ← p·(1 − lr·wd)                       (decoupled weight decay; not biases/LayerNorm)
///     m ← lerp(m, g, 1 − β1)                   v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// over one flat parameter buffer, with moments in buffers of the same layout.
/// Hyperparameters are doubles, as torch keeps them (Python floats): the bias corrections and
/// the scalars 1-β are computed in double and only then rounded to fp32, as torch does.
public final class AdamW: @unchecked Sendable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    public var weightDecay: Float
    /// Steps taken so far (torch's `state['step']`).
    public internal(set) var step = 0
    public let m: FloatBuffer
    public let v: FloatBuffer
    let layout: ParameterLayout

    public init(layout: ParameterLayout, weightDecay: Float) {
        self.layout = layout
        self.weightDecay = weightDecay
        m = FloatBuffer(count: layout.totalCount)
        v = FloatBuffer(count: layout.totalCount)
    }

    /// One update of `parameters` with `gradients` at learning rate `lr`, on every tensor.
    /// `gradientScale` multiplies each gradient as it is read (the clipping coefficient, folded
    /// in to save a pass over the gradients; 1 = as they are).
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, lr: Double, gradientScale: Float = 1) {
        step += 1
        let bias1 = 1 - pow(beta1, Double(step))
        let bias2 = 1 - pow(beta2, Double(step))
        // torch keeps these Python floats (double), then uses them as fp32 scalars.
        let negStepSize = Float(-(lr / bias1))
        let bias2Sqrt = Float(bias2.squareRoot())
        let decayFactor = Float(1 - lr * Double(weightDecay))
        let (b2, eps) = (Float(beta2), Float(epsilon))
        let oneMinusB1 = Float(1 - beta1), oneMinusB2 = Float(1 - beta2)
        let p = parameters.pointer, g = gradients.pointer, mp = m.pointer, vp = v.pointer
        nonisolated(unsafe) let ptrs = (p, g, mp, vp)
        let tensors = layout.tensors
        let scaled = gradientScale != 1
        // Element-wise and memory-bound: split the flat buffer across cores by tensor. Each
        // element goes through torch's operations in torch's order (16 lanes at a time, no fused
        // multiply-adds), so the result is the same as element by element.
        DispatchQueue.concurrentPerform(iterations: tensors.count) { k in
            let t = tensors[k]
            guard t.trainable else { return }  // frozen (requires_grad=False): not in the optimizer
            let (p, g, mp, vp) = ptrs
            let decay = t.decays && weightDecay != 0
            // torch's operations per element, on 16 lanes.
            @inline(__always) func update16(_ pv: inout Vec16, _ gv: Vec16, _ mv: inout Vec16, _ vv: inout Vec16) {
                if decay { pv *= Vec16(repeating: decayFactor) }
                let gi = scaled ? gv * Vec16(repeating: gradientScale) : gv
                // torch.lerp with weight < 0.5: m + w·(g − m)
                mv = mv + Vec16(repeating: oneMinusB1) * (gi - mv)
                // exp_avg_sq.mul_(β2).addcmul_(g, g, value: 1-β2): self + value·g·g, left to right
                vv = vv * Vec16(repeating: b2) + Vec16(repeating: oneMinusB2) * gi * gi
                let denom = vv.squareRoot() / Vec16(repeating: bias2Sqrt) + Vec16(repeating: eps)
                // param.addcdiv_(m, denom, value: -step_size): self + value·m / denom
                pv = pv + Vec16(repeating: negStepSize) * mv / denom
            }
            var i = t.offset
            let end = t.offset + t.count
            while i + 16 <= end {
                var pv = load16(p + i), mv = load16(mp + i), vv = load16(vp + i)
                update16(&pv, load16(g + i), &mv, &vv)
                store16(pv, p + i); store16(mv, mp + i); store16(vv, vp + i)
                i += 16
            }
            // The < 16 tail through zero-padded vectors (a zero lane stays finite: √0 + ε).
            guard i < end else { return }
            var pv = Vec16(), gv = Vec16(), mv = Vec16(), vv = Vec16()
            for j in i..<end { pv[j - i] = p[j]; gv[j - i] = g[j]; mv[j - i] = mp[j]; vv[j - i] = vp[j] }
            update16(&pv, gv, &mv, &vv)
            for j in i..<end { p[j] = pv[j - i]; mp[j] = mv[j - i]; vp[j] = vv[j - i] }
        }
    }
}

/// The global L2 norm of all gradients (as `torch.nn.utils.clip_grad_norm_` computes it: the
/// norm of the per-tensor norms), accumulated in double precision.
public func gradientNorm(_ gradients: FloatBuffer, layout: ParameterLayout) -> Float {
    let tensors = layout.tensors
    var norms = [Float](repeating: 0, count: tensors.count)
    nonisolated(unsafe) let gp = gradients.pointer
    norms.withUnsafeMutableBufferPointer { out in
        nonisolated(unsafe) let o = out
        DispatchQueue.concurrentPerform(iterations: tensors.count) { k in
            let t = tensors[k]
            // Four 8-lane double accumulators: the loop runs at memory speed instead of one
            // dependent scalar add per element.
            var a0 = SIMD8<Double>(), a1 = a0, a2 = a0, a3 = a0
            var i = t.offset
            let end = t.offset + t.count
            while i + 32 <= end {
                let x0 = SIMD8<Double>(load16(gp + i).lowHalf), x1 = SIMD8<Double>(load16(gp + i).highHalf)
                let x2 = SIMD8<Double>(load16(gp + i + 16).lowHalf), x3 = SIMD8<Double>(load16(gp + i + 16).highHalf)
                a0 += x0 * x0; a1 += x1 * x1; a2 += x2 * x2; a3 += x3 * x3
                i += 32
            }
            var sum = ((a0 + a1) + (a2 + a3)).sum()
            while i < end { sum += Double(gp[i]) * Double(gp[i]); i += 1 }
            o[k] = Float(sum.squareRoot())
        }
    }
    var total: Double = 0
    for n in norms { total += Double(n) * Double(n) }
    return Float(total.squareRoot())
}

/// torch's clipping coefficient: min(maxNorm / (norm + 1e-6), 1).
public func clipCoefficient(norm: Float, maxNorm: Float) -> Float {
    min(maxNorm / (norm + 1e-6), 1)
}

/// `torch.nn.utils.clip_grad_norm_`: scales the gradients in place so that their global norm is
/// at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: FloatBuffer, layout: ParameterLayout, maxNorm: Float) -> Float {
    let totalNorm = gradientNorm(gradients, layout: layout)
    let coefficient = clipCoefficient(norm: totalNorm, maxNorm: maxNorm)
    if coefficient < 1 {
        let g = gradients.pointer
        for i in 0..<gradients.count { g[i] *= coefficient }
    }
    return totalNorm
}

/// HF's `get_linear_schedule_with_warmup`: 0 → lr over `warmup` steps, then linearly to 0 at
/// `total` steps. `step` counts optimizer steps from 0.
public struct LinearSchedule: Sendable, Equatable {
    public var baseLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(baseLR: Double, warmupSteps: Int, totalSteps: Int) {
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// Warmup given as a ratio of the total steps, rounded up as HF's `get_warmup_steps`.
    public init(baseLR: Double, warmupRatio: Double, totalSteps: Int) {
        self.init(baseLR: baseLR, warmupSteps: Int((Double(totalSteps) * warmupRatio).rounded(.up)), totalSteps: totalSteps)
    }

    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps {
            return baseLR * Double(step) / Double(max(1, warmupSteps))
        }
        return baseLR * max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
    }
}
