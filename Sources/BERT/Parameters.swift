import Kernels

/// One named parameter tensor: a view (offset + shape) into the model's single contiguous
/// parameter buffer. The gradient buffer and the AdamW moment buffers use the same layout,
/// so a view resolves against any of them.
public struct ParameterTensor: Sendable, Equatable {
    /// HF's name without the `bert.` prefix, e.g. "encoder.layer.0.attention.self.query.weight".
    public let name: String
    public let shape: [Int]
    /// Offset in Float elements from the start of the buffer.
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// Whether HF's Trainer applies weight decay to it (not biases, not LayerNorm weights).
    public var decays: Bool { !(name.hasSuffix("bias") || name.contains("LayerNorm")) }

    /// The tensor's first element inside `buffer` (parameters, gradients, moments...).
    @inline(__always)
    public func pointer(in buffer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        buffer + offset
    }

    public func buffer(in base: UnsafeMutablePointer<Float>) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base + offset, count: count)
    }

    /// The name HF's `BertForQuestionAnswering.save_pretrained` writes.
    public var hfName: String { name.hasPrefix("qa_outputs.") ? name : "bert." + name }
}

/// The order and offsets of every parameter. Within a layer, query/key/value weights are
/// adjacent and so are their biases, so the three projections are one (3C, C) matrix and one
/// (3C) bias: a single fused sgemm, and a single fused gradient in the backward pass.
public struct ParameterLayout: Sendable {
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var totalCount = 0
    private var index: [String: Int] = [:]

    public subscript(name: String) -> ParameterTensor? {
        index[name].map { tensors[$0] }
    }

    mutating func add(_ name: String, _ shape: [Int]) -> ParameterTensor {
        let t = ParameterTensor(name: name, shape: shape, offset: totalCount)
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
        weight = layout.add(prefix + ".weight", [channels])
        bias = layout.add(prefix + ".bias", [channels])
        self.eps = eps
    }
}
