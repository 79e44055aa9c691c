import Kernels

/// BERT with a span-extraction head, as HF's `BertForQuestionAnswering`: the encoder's output
/// goes through `qa_outputs` (C→2) to start and end logits per token.
///
/// All parameters live in ONE contiguous buffer (`parameters`), in `layout` order; modules
/// hold views (offset + shape). A gradient buffer of `layout.totalCount` floats has the same
/// layout, so optimizers loop over one flat array.
public final class BertForQuestionAnswering: @unchecked Sendable {
    public let config: BertConfig
    public let architecture: BertArchitecture
    public let parameters: FloatBuffer

    public var layout: ParameterLayout { architecture.layout }
    public var embeddings: BertEmbeddings { architecture.embeddings }
    public var encoder: BertEncoder { architecture.encoder }
    public var qaOutputs: Linear { architecture.qaOutputs }

    /// A model initialized as HF's `_init_weights` does: Linear and Embedding weights
    /// N(0, initializer_range), biases 0, the padding token's embedding row 0, LayerNorm 1 and 0.
    public convenience init(config: BertConfig, seed: UInt64) throws {
        try self.init(config: config, seed: Optional(seed))
    }

    /// With a nil seed the parameters stay zero (a checkpoint is about to fill them).
    init(config: BertConfig, seed: UInt64?) throws {
        try config.validate()
        self.config = config
        architecture = BertArchitecture(config: config)
        parameters = FloatBuffer(count: architecture.layout.totalCount)
        if let seed {
            var rng = SeededGenerator(seed: seed)
            for t in layout.tensors { initialize(t, rng: &rng) }
        }
    }

    /// Initializes one tensor HF's way (used for fresh models and for a missing QA head).
    func initialize(_ t: ParameterTensor, rng: inout SeededGenerator) {
        let values = t.buffer(in: parameters.pointer)
        if t.name.contains("LayerNorm") {
            values.update(repeating: t.name.hasSuffix("weight") ? 1 : 0)
        } else if t.name.hasSuffix("bias") {
            values.update(repeating: 0)
        } else {
            rng.fillNormal(values, std: Float(config.initializerRange))
            if t.name == "embeddings.word_embeddings.weight", config.padTokenID >= 0, config.padTokenID < config.vocabSize {
                (values.baseAddress! + config.padTokenID * config.hiddenSize).update(repeating: 0, count: config.hiddenSize)
            }
        }
    }

    /// Model FLOPs of one forward pass (multiply-adds ×2 of every matrix product), for reports.
    public func forwardFLOPs(batch: Int, sequence: Int) -> Double {
        config.forwardFLOPs(batch: batch, sequence: sequence)
    }
}

extension BertConfig {
    /// Model FLOPs of one forward pass (multiply-adds ×2 of every matrix product), for reports.
    public func forwardFLOPs(batch: Int, sequence: Int) -> Double {
        let C = Double(hiddenSize), I = Double(intermediateSize)
        let T = Double(sequence), BT = Double(batch) * T
        let perLayer = 2 * BT * (4 * C * C + 2 * C * I) + 2 * 2 * Double(batch) * T * T * C
        return Double(numHiddenLayers) * perLayer + 2 * BT * C * 2
    }
}
