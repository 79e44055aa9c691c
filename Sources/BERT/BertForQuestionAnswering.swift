import Foundation
import Kernels

/// A transformer encoder with a span-extraction head, as HF's `…ForQuestionAnswering` of each
/// architecture in `ModelType`: the encoder's output goes through `qa_outputs` (C→2) to start
/// and end logits per token.
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
        let E = config.embeddingSize
        if t.isLayerNorm {
            values.update(repeating: t.name.hasSuffix("weight") ? 1 : 0)
        } else if t.name.hasSuffix("bias") {
            values.update(repeating: 0)
        } else if t.name == "embeddings.position_embeddings.weight", config.sinusoidalPositions {
            Self.fillSinusoidal(values, positions: config.maxPositionEmbeddings, channels: E)
        } else {
            rng.fillNormal(values, std: Float(config.initializerRange))
            // nn.Embedding's padding_idx rows start at 0
            let padRow = t == embeddings.wordEmbeddings ? embeddings.paddingIndex
                : t.name == "embeddings.position_embeddings.weight" ? embeddings.positionPaddingIndex : nil
            if let padRow { (values.baseAddress! + padRow * E).update(repeating: 0, count: E) }
        }
    }

    /// DistilBERT's `create_sinusoidal_embeddings`: position p, channel j → sin (j even) or cos
    /// (j odd) of p / 10000^(2⌊j/2⌋/dim), computed in double as numpy does, then rounded.
    static func fillSinusoidal(_ table: UnsafeMutableBufferPointer<Float>, positions: Int, channels: Int) {
        for p in 0..<positions {
            for j in 0..<channels {
                let angle = Double(p) / pow(10000, Double(2 * (j / 2)) / Double(channels))
                table[p * channels + j] = Float(j % 2 == 0 ? sin(angle) : cos(angle))
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
        let projection = projectsEmbeddings ? 2 * BT * Double(embeddingSize) * C : 0
        return Double(numHiddenLayers) * perLayer + projection + 2 * BT * C * 2
    }
}
