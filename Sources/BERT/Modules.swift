import Kernels

// The model's parts, named like HF's modules, each holding views into the parameter buffer.
// Their forward passes (in Forward.swift) read parameters from a base pointer and write
// activations into workspace slots; backward passes will sit beside them.

/// embeddings.*: word (V,C), position (P,C), token type (TV,C) tables, then LayerNorm.
public struct BertEmbeddings: Sendable {
    public let wordEmbeddings: ParameterTensor
    public let positionEmbeddings: ParameterTensor
    public let tokenTypeEmbeddings: ParameterTensor
    public let layerNorm: LayerNormWeights

    init(_ layout: inout ParameterLayout, _ config: BertConfig) {
        let C = config.hiddenSize
        wordEmbeddings = layout.add("embeddings.word_embeddings.weight", [config.vocabSize, C])
        positionEmbeddings = layout.add("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, C])
        tokenTypeEmbeddings = layout.add("embeddings.token_type_embeddings.weight", [config.typeVocabSize, C])
        layerNorm = LayerNormWeights(&layout, "embeddings.LayerNorm", channels: C, eps: Float(config.layerNormEps))
    }
}

/// attention.self.*: query, key, value (C,C) each, stored adjacently so `qkv` is one (3C,C) Linear.
public struct BertSelfAttention: Sendable {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    /// The fused view: weight (3C,C) = [query; key; value], bias (3C).
    public let qkv: Linear
    public let heads: Int
    public var headSize: Int { query.outFeatures / heads }

    init(_ layout: inout ParameterLayout, _ prefix: String, _ config: BertConfig) {
        let C = config.hiddenSize
        let wq = layout.add(prefix + ".query.weight", [C, C])
        let wk = layout.add(prefix + ".key.weight", [C, C])
        let wv = layout.add(prefix + ".value.weight", [C, C])
        let bq = layout.add(prefix + ".query.bias", [C])
        let bk = layout.add(prefix + ".key.bias", [C])
        let bv = layout.add(prefix + ".value.bias", [C])
        query = Linear(weight: wq, bias: bq)
        key = Linear(weight: wk, bias: bk)
        value = Linear(weight: wv, bias: bv)
        qkv = Linear(
            weight: ParameterTensor(name: prefix + ".qkv.weight", shape: [3 * C, C], offset: wq.offset),
            bias: ParameterTensor(name: prefix + ".qkv.bias", shape: [3 * C], offset: bq.offset))
        heads = config.numAttentionHeads
    }
}

/// attention.output.*: dense (C,C), then LayerNorm(dense + residual).
public struct BertSelfOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNormWeights

    init(_ layout: inout ParameterLayout, _ prefix: String, _ config: BertConfig) {
        dense = Linear(&layout, prefix + ".dense", in: config.hiddenSize, out: config.hiddenSize)
        layerNorm = LayerNormWeights(&layout, prefix + ".LayerNorm", channels: config.hiddenSize, eps: Float(config.layerNormEps))
    }
}

/// attention.*: self-attention then its output projection.
public struct BertAttention: Sendable {
    public let selfAttention: BertSelfAttention
    public let output: BertSelfOutput
}

/// intermediate.*: dense (I,C) and the activation.
public struct BertIntermediate: Sendable {
    public let dense: Linear
    public let activation: Activation
}

/// output.*: dense (C,I), then LayerNorm(dense + residual).
public struct BertOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNormWeights
}

/// encoder.layer.N.*
public struct BertLayer: Sendable {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertOutput

    init(_ layout: inout ParameterLayout, index: Int, _ config: BertConfig) {
        let p = "encoder.layer.\(index)"
        let C = config.hiddenSize, I = config.intermediateSize
        attention = BertAttention(
            selfAttention: BertSelfAttention(&layout, p + ".attention.self", config),
            output: BertSelfOutput(&layout, p + ".attention.output", config))
        intermediate = BertIntermediate(
            dense: Linear(&layout, p + ".intermediate.dense", in: C, out: I), activation: config.hiddenAct)
        output = BertOutput(
            dense: Linear(&layout, p + ".output.dense", in: I, out: C),
            layerNorm: LayerNormWeights(&layout, p + ".output.LayerNorm", channels: C, eps: Float(config.layerNormEps)))
    }
}

/// encoder.*
public struct BertEncoder: Sendable {
    public let layers: [BertLayer]
}

/// The whole parameter set of a BertForQuestionAnswering, in buffer order.
public struct BertArchitecture: Sendable {
    public let layout: ParameterLayout
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder
    /// qa_outputs: (2,C) weight, (2) bias; output column 0 is the start logit, 1 the end logit.
    public let qaOutputs: Linear

    public init(config: BertConfig) {
        var layout = ParameterLayout()
        embeddings = BertEmbeddings(&layout, config)
        encoder = BertEncoder(layers: (0..<config.numHiddenLayers).map { BertLayer(&layout, index: $0, config) })
        qaOutputs = Linear(&layout, "qa_outputs", in: config.hiddenSize, out: 2)
        self.layout = layout
    }
}
