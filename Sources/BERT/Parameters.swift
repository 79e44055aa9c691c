import Kernels

/// One named parameter tensor: a view (offset + shape) into the model's single contiguous
/// parameter buffer. The gradient buffer and the AdamW moment buffers use the same layout,
/// so a view resolves against any of them.
public struct ParameterTensor: Sendable, Equatable {
    /// HF's name without the base model's prefix, e.g. "encoder.layer.0.attention.self.query.weight".
    public let name: String
    /// The name HF's `…ForQuestionAnswering.save_pretrained` writes: with the base model's
    /// prefix (`bert.`, `roberta.`, `distilbert.`...), except for the head's `qa_outputs.*`.
    public let hfName: String
    public let shape: [Int]
    /// Offset in Float elements from the start of the buffer.
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// Whether HF's Trainer applies weight decay to it: not to biases, not to LayerNorm modules'
    /// weights (whatever the module is called: `LayerNorm`, `sa_layer_norm`, ...).
    public let decays: Bool
    /// false for a frozen tensor (`requires_grad=False`: DistilBERT's sinusoidal positions):
    /// the backward leaves its gradient 0 and the optimizer leaves it alone.
    public let trainable: Bool
    /// A LayerNorm module's weight or bias (initialized to 1 and 0).
    public let isLayerNorm: Bool

    init(name: String, hfName: String, shape: [Int], offset: Int, decays: Bool = true, trainable: Bool = true,
         isLayerNorm: Bool = false) {
        self.name = name
        self.hfName = hfName
        self.shape = shape
        self.offset = offset
        self.decays = decays && !name.hasSuffix("bias")
        self.trainable = trainable
        self.isLayerNorm = isLayerNorm
    }

    /// The tensor's first element inside `buffer` (parameters, gradients, moments...).
    @inline(__always)
    public func pointer(in buffer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        buffer + offset
    }

    public func buffer(in base: UnsafeMutablePointer<Float>) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base + offset, count: count)
    }
}

/// The order and offsets of every parameter. Within a layer, query/key/value weights are
/// adjacent and so are their biases, so the three projections are one (3C, C) matrix and one
/// (3C) bias: a single fused sgemm, and a single fused gradient in the backward pass.
public struct ParameterLayout: Sendable {
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var totalCount = 0
    /// The base model's attribute in HF's QA class (`bert`, `roberta`, ...): the prefix of every
    /// name but the head's.
    public let basePrefix: String
    private var index: [String: Int] = [:]

    init(basePrefix: String) {
        self.basePrefix = basePrefix
    }

    public subscript(name: String) -> ParameterTensor? {
        index[name].map { tensors[$0] }
    }

    /// The layout name of a checkpoint tensor: `from_pretrained` accepts names with the base
    /// model's prefix (a QA checkpoint) and without it (a base model saved alone), and renames
    /// the `LayerNorm.gamma` / `LayerNorm.beta` of early checkpoints ported from TensorFlow
    /// (`_fix_state_dict_key_on_load`).
    public func modelName(ofFileTensor name: String) -> String {
        var name = name.hasPrefix(basePrefix + ".") ? String(name.dropFirst(basePrefix.count + 1)) : name
        if name.hasSuffix("LayerNorm.gamma") {
            name = String(name.dropLast("gamma".count)) + "weight"
        } else if name.hasSuffix("LayerNorm.beta") {
            name = String(name.dropLast("beta".count)) + "bias"
        }
        return name
    }

    mutating func add(_ name: String, _ shape: [Int], decays: Bool = true, trainable: Bool = true,
                      isLayerNorm: Bool = false) -> ParameterTensor {
        let hfName = name.hasPrefix("qa_outputs.") ? name : basePrefix + "." + name
        let t = ParameterTensor(name: name, hfName: hfName, shape: shape, offset: totalCount, decays: decays,
                                trainable: trainable, isLayerNorm: isLayerNorm)
        index[name] = tensors.count
        tensors.append(t)
        totalCount += t.count
        return t
    }
}

/// A Linear layer's views: weight (out, in) as PyTorch stores it, bias (out).
public struct Linear: Sendable {
    public let weight: ParameterTensor
    public let bias: ParameterTensor
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    init(_ layout: inout ParameterLayout, _ prefix: String, in inFeatures: Int, out outFeatures: Int) {
        weight = layout.add(prefix + ".weight", [outFeatures, inFeatures])
        bias = layout.add(prefix + ".bias", [outFeatures])
    }

    init(weight: ParameterTensor, bias: ParameterTensor) {
        self.weight = weight
        self.bias = bias
    }
}

/// A LayerNorm's views: weight (C), bias (C), and its epsilon.
public struct LayerNormWeights: Sendable {
    public let weight: ParameterTensor
    public let bias: ParameterTensor
    public let eps: Float

    init(_ layout: inout ParameterLayout, _ prefix: String, channels: Int, eps: Float) {
        weight = layout.add(prefix + ".weight", [channels], decays: false, isLayerNorm: true)
        bias = layout.add(prefix + ".bias", [channels], decays: false, isLayerNorm: true)
        self.eps = eps
    }
}
