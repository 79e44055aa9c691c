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

    /// One update of `parameters` with `gradients` at learning rate `lr`.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, lr: Double) {
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
        // Element-wise and memory-bound: split the flat buffer across cores by tensor.
        DispatchQueue.concurrentPerform(iterations: tensors.count) { k in
            let t = tensors[k]
            let (p, g, mp, vp) = ptrs
            let decay = t.decays && weightDecay != 0
            for i in t.offset ..< t.offset + t.count {
                if decay { p[i] *= decayFactor }
                let gi = g[i]
                // torch.lerp with weight < 0.5: m + w·(g − m)
                mp[i] = mp[i] + oneMinusB1 * (gi - mp[i])
                // exp_avg_sq.mul_(β2).addcmul_(g, g, value: 1-β2): self + value·g·g, left to right
                vp[i] = vp[i] * b2 + oneMinusB2 * gi * gi
                let denom = vp[i].squareRoot() / bias2Sqrt + eps
                // param.addcdiv_(m, denom, value: -step_size): self + value·m / denom
                p[i] = p[i] + negStepSize * mp[i] / denom
            }
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_`: total 2-norm over all gradients (norm of the per-tensor
/// norms), then scale by min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: FloatBuffer, layout: ParameterLayout, maxNorm: Float) -> Float {
    let tensors = layout.tensors
    var norms = [Float](repeating: 0, count: tensors.count)
    let g = gradients.pointer
    nonisolated(unsafe) let gp = g
    norms.withUnsafeMutableBufferPointer { out in
        nonisolated(unsafe) let o = out
        DispatchQueue.concurrentPerform(iterations: tensors.count) { k in
            let t = tensors[k]
            var sum: Double = 0
            for i in t.offset ..< t.offset + t.count { sum += Double(gp[i]) * Double(gp[i]) }
            o[k] = Float(sum.squareRoot())
        }
    }
    var total: Double = 0
    for n in norms { total += Double(n) * Double(n) }
    let totalNorm = Float(total.squareRoot())
    let coefficient = min(maxNorm / (totalNorm + 1e-6), 1)
    if coefficient < 1 {
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
