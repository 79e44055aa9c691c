import Kernels

/// The arithmetic of an inference forward pass's matrix products.
public enum InferencePrecision: String, Sendable, CaseIterable {
    /// Everything in fp32: the logits match Hugging Face's within 1e-4 (the default).
    case fp32
    /// The encoder's four linear layers per block in bfloat16 (AMX tiles or avx512_bf16, fp32
    /// accumulation); embeddings, attention, LayerNorm and the QA head stay fp32. Opt-in. Logits
    /// move by a few thousandths (MiniLM-L6: ≤ 0.004 from HF's fp32 logits), and by ~0.002 with
    /// a window's place in the batch (the kernels differ by row count; on packed fp32 weights
    /// that effect is ~1e-6). Speed and SQuAD EM/F1: docs/benchmarks-history.md, "bf16 inference".
    case bf16

    /// The packed layers' arithmetic.
    public var linear: LinearPrecision { self == .fp32 ? .fp32 : .bf16 }
}

/// One encoder layer's linear layers packed once for inference (`PackedLinear`), in fp32 or bf16.
/// The biases of q|k|v, attention-output and output are added by the fp32 kernels that follow
/// them (as in the sgemm inference path). The intermediate layer's bias and activation: in bf16
/// inside the product, which hands the output dense a bf16 input directly; in fp32 by bertqa's
/// own pass after it (`biasActivationInPlace`), as oneDNN's GELU post-op ran slower here.
struct PackedBertLayer: Sendable {
    let qkv: PackedLinear
    let attentionOutput: PackedLinear
    let intermediate: PackedLinear
    let output: PackedLinear
    var precision: LinearPrecision { qkv.precision }

    init(_ layer: BertLayer, _ p: UnsafePointer<Float>, precision: LinearPrecision) throws {
        let sa = layer.attention.selfAttention, C = sa.query.inFeatures, I = layer.intermediate.dense.outFeatures
        qkv = try PackedLinear(weight: p + sa.qkv.weight.offset, bias: nil, inFeatures: C, outFeatures: 3 * C,
                               precision: precision)
        attentionOutput = try PackedLinear(weight: p + layer.attention.output.dense.weight.offset, bias: nil,
                                           inFeatures: C, outFeatures: C, precision: precision)
        let bf16 = precision == .bf16
        intermediate = try PackedLinear(weight: p + layer.intermediate.dense.weight.offset,
                                        bias: bf16 ? p + layer.intermediate.dense.bias.offset : nil,
                                        inFeatures: C, outFeatures: I, precision: precision,
                                        activation: bf16 ? layer.intermediate.activation : nil, bf16Output: bf16)
        output = try PackedLinear(weight: p + layer.output.dense.weight.offset, bias: nil, inFeatures: I, outFeatures: C,
                                  precision: precision)
    }
}

extension BertForQuestionAnswering {
    /// The precision inference forward passes use (training always runs in fp32).
    public var inferencePrecision: InferencePrecision { packedLayers?.first?.precision == .bf16 ? .bf16 : .fp32 }

    /// Whether inference forwards run on packed copies of the weights (after
    /// `setInferencePrecision`) rather than on the parameters themselves.
    public var hasPackedInferenceWeights: Bool { packedLayers != nil }

    /// Prepares inference in `precision`: packs a copy of the encoder's linear weights once
    /// (fp32: for oneDNN's matmul kernels, 3–11 % faster products than sgemm, the same fp32
    /// arithmetic; bf16: converted to bfloat16). A snapshot: call it again after changing the
    /// weights, or `releaseInferenceWeights()` to go back to reading them directly (training's
    /// forward always does). Costs the encoder's linear weights once more in memory. Throws when
    /// the CPU has no bf16 matrix kernels; for fp32 without fast packed kernels it keeps the
    /// sgemm path. Call before sharing the model between threads.
    public func setInferencePrecision(_ precision: InferencePrecision) throws {
        let p = UnsafePointer(parameters.pointer)
        do {
            packedLayers = try encoder.layers.map { try PackedBertLayer($0, p, precision: precision.linear) }
        } catch let error as PackedLinearError {
            packedLayers = nil
            if precision == .bf16 { throw BertError.invalidInput("bf16 inference is not available: \(error)") }
        }
    }

    /// Drops the packed copies: inference forwards read the parameters again (fp32, sgemm).
    /// Call before changing the weights of a model that was prepared for inference.
    public func releaseInferenceWeights() {
        packedLayers = nil
    }
}
