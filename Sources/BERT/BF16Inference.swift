import Kernels

/// The arithmetic of an inference forward pass's matrix products.
public enum InferencePrecision: String, Sendable, CaseIterable {
    /// Everything in fp32: the logits match Hugging Face's within 1e-4 (the default).
    case fp32
    /// The encoder's four linear layers per block in bfloat16 on AMX (fp32 accumulation);
    /// embeddings, attention, LayerNorm and the QA head stay fp32. Opt-in. Logits move by a few
    /// thousandths (MiniLM-L6: ≤ 0.004 from HF's fp32 logits), and, unlike fp32, by ~0.002
    /// with a window's place in the batch (the kernels differ by row count). Speed and SQuAD
    /// EM/F1: BENCHMARKS.md "bf16 inference".
    case bf16
}

/// bf16 copies of one encoder layer's linear layers, packed for oneDNN's AMX kernels.
/// The biases of q|k|v, attention-output and output are added by the fp32 kernels that follow
/// them (as in the fp32 inference path); the intermediate layer applies bias and activation
/// itself and hands the output dense a bf16 input directly.
struct BertLayerBF16: Sendable {
    let qkv: BF16Linear
    let attentionOutput: BF16Linear
    let intermediate: BF16Linear
    let output: BF16Linear

    init(_ layer: BertLayer, _ p: UnsafePointer<Float>) throws {
        let sa = layer.attention.selfAttention, C = sa.query.inFeatures, I = layer.intermediate.dense.outFeatures
        qkv = try BF16Linear(weight: p + sa.qkv.weight.offset, bias: nil, inFeatures: C, outFeatures: 3 * C)
        attentionOutput = try BF16Linear(weight: p + layer.attention.output.dense.weight.offset, bias: nil,
                                         inFeatures: C, outFeatures: C)
        intermediate = try BF16Linear(weight: p + layer.intermediate.dense.weight.offset,
                                      bias: p + layer.intermediate.dense.bias.offset, inFeatures: C, outFeatures: I,
                                      activation: layer.intermediate.activation, bf16Output: true)
        output = try BF16Linear(weight: p + layer.output.dense.weight.offset, bias: nil, inFeatures: I, outFeatures: C)
    }
}

extension BertForQuestionAnswering {
    /// The precision inference forward passes use (training always runs in fp32).
    public var inferencePrecision: InferencePrecision { bf16Layers == nil ? .fp32 : .bf16 }

    /// Switches inference to `precision`. For bf16 this converts the current weights once (a
    /// snapshot: call it again after changing them; a model being trained stays fp32). Throws
    /// when the CPU has no bf16 matrix kernels. Call before sharing the model between threads.
    public func setInferencePrecision(_ precision: InferencePrecision) throws {
        switch precision {
        case .fp32:
            bf16Layers = nil
        case .bf16:
            let p = UnsafePointer(parameters.pointer)
            do {
                bf16Layers = try encoder.layers.map { try BertLayerBF16($0, p) }
            } catch let error as BF16Error {
                throw BertError.invalidInput("bf16 inference is not available: \(error)")
            }
        }
    }
}
