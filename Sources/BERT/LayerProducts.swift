import Kernels

/// The four products of one `BertLayer`, and nothing else: where the weights live and in which
/// precision the products run, so the layer's forward reads the same whatever computes them.
///
/// - `live`: sgemm on the model's parameters as they are (the trainable model: training, and
///   its eval-mode `forward`), or with `BertWorkspace.bf16Products` bf16 products on their
///   rounded copy. A product adds its bias itself only when asked to (`bias:`).
/// - `packed`: an inference snapshot's weights, packed once for oneDNN's matmul in fp32, bf16
///   or int8 (`BertInferenceModel`). Inference never asks a product for its bias: the layer adds
///   the biases in the passes that follow (attention, LayerNorm), and bf16's intermediate
///   product applies bias and activation itself.
struct LayerProducts {
    private enum Route {
        /// bf16: the workspace's rounded weights and scratch, with `bf16Products`.
        case live(bf16: BertWorkspace.BF16Training?)
        case packed(PackedBertLayer, BertWorkspace.PackedBuffers)
    }
    private let route: Route
    private let layer: BertLayer
    /// The parameters (the live weights, and the biases either way).
    private let p: UnsafeMutablePointer<Float>

    init(_ layer: BertLayer, parameters p: UnsafeMutablePointer<Float>, packed: PackedBertLayer?, workspace ws: BertWorkspace) {
        self.layer = layer
        self.p = p
        route = packed.map { .packed($0, ws.packedScratch($0.precision)) }
            ?? .live(bf16: ws.liveBF16)
    }

    /// The intermediate activations as the output product reads them: fp32 in the layer's
    /// activations, or bf16 in the workspace's scratch (bf16 products hand bf16 along).
    enum Activations {
        case fp32(UnsafeMutablePointer<Float>)
        case bf16(UnsafeMutablePointer<UInt16>)
    }

    /// (rows, C) → (rows, 3C): q | k | v.
    func qkv(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?) throws {
        try linear(\.qkv, layer.attention.selfAttention.qkv, out: out, input: input, rows: rows, bias: bias)
    }

    /// (rows, C) → (rows, C): the attention output's dense.
    func attentionOutput(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int,
                         bias: UnsafePointer<Float>?) throws {
        try linear(\.attentionOutput, layer.attention.output.dense, out: out, input: input, rows: rows, bias: bias)
    }

    /// (rows, C) → (rows, I): act(x·Wᵀ + b), bias and activation always applied. `pre` keeps the
    /// pre-activation values for the backward (live route; the same buffer as `out` when no
    /// backward follows).
    func intermediate(pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                      rows: Int) throws -> Activations {
        let dense = layer.intermediate.dense, kind = layer.intermediate.activation
        switch route {
        case .live(let bf16):
            matmulActivationForward(pre: pre, out: out, inp: input, weight: dense.weight.pointer(in: p),
                                    bias: dense.bias.pointer(in: p), rows: rows, inFeatures: dense.inFeatures,
                                    outFeatures: dense.outFeatures, activation: kind, bf16: bf16?.operands(dense.weight))
            return .fp32(out)
        case .packed(let packed, let scratch):
            if let bf16 = scratch.intermediate {
                // bf16: bias and activation inside the product, bf16 out for the next product.
                try packed.intermediate.forward(out: bf16, fp32Input: input, rows: rows, staging: scratch.input,
                                                scratchpad: scratch.scratchpad)
                return .bf16(bf16)
            }
            // fp32 and int8: the product (fp32 out), then bertqa's bias + activation pass
            // (oneDNN's GELU post-op measured slower).
            try packed.intermediate.forward(out: out, fp32Input: input, rows: rows, staging: scratch.input,
                                            scratchpad: scratch.scratchpad)
            biasActivationInPlace(out, bias: dense.bias.pointer(in: p), rows: rows,
                                  columns: dense.outFeatures, kind: kind)
            return .fp32(out)
        }
    }

    /// (rows, I) → (rows, C): the output dense, reading the activations where `intermediate` left them.
    func output(out: UnsafeMutablePointer<Float>, input: Activations, rows: Int, bias: UnsafePointer<Float>?) throws {
        switch (route, input) {
        case (.packed(let packed, let scratch), .bf16(let activations)):
            precondition(bias == nil, "packed products leave their bias to the pass that follows")
            try packed.output.forward(out: UnsafeMutableRawPointer(out), inp: UnsafeRawPointer(activations),
                                      rows: rows, scratchpad: scratch.scratchpad)
        case (_, .fp32(let activations)):
            try linear(\.output, layer.output.dense, out: out, input: activations, rows: rows, bias: bias)
        case (.live, .bf16):
            preconditionFailure("bf16 activations come only from packed bf16 products")
        }
    }

    /// One fp32-input product on either route.
    private func linear(_ packedLinear: KeyPath<PackedBertLayer, PackedLinear>, _ dense: Linear,
                        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int,
                        bias: UnsafePointer<Float>?) throws {
        switch route {
        case .live(let bf16):
            matmulForward(out: out, inp: input, weight: dense.weight.pointer(in: p), bias: bias,
                          rows: rows, inFeatures: dense.inFeatures, outFeatures: dense.outFeatures,
                          bf16: bf16?.operands(dense.weight))
        case .packed(let packed, let scratch):
            precondition(bias == nil, "packed products leave their bias to the pass that follows")
            try packed[keyPath: packedLinear].forward(out: out, fp32Input: input, rows: rows, staging: scratch.input,
                                                      scratchpad: scratch.scratchpad)
        }
    }
}
