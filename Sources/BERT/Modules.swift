import Kernels

// The model's parts, named like HF's modules, each holding views into the parameter buffer.
// Their forward passes (in Forward.swift) read parameters from a base pointer and write
// activations into workspace slots; their backward passes are in Backward.swift.
// Every architecture of `ModelType` is these parts under its own names (`LayerNames`).

/// embeddings.*: word (V,E), position (P,E), token type (TV,E; none in DistilBERT) tables, then
/// LayerNorm, then (ELECTRA, ALBERT) a Linear E→C into the encoder.
public struct BertEmbeddings: Sendable {
    public let wordEmbeddings: ParameterTensor
    /// nil where positions enter only through relative attention (DeBERTa-v3).
    public let positionEmbeddings: ParameterTensor?
    public let tokenTypeEmbeddings: ParameterTensor?
    public let layerNorm: LayerNormWeights
    /// ELECTRA's `embeddings_project`, ALBERT's `encoder.embedding_hidden_mapping_in`: (C,E).
    public let projection: Linear?
    /// nn.Embedding's padding_idx of the word table (its row gets no gradient).
    public let paddingIndex: Int?
    /// RoBERTa: positions count from padding_idx + 1 and padding tokens sit at padding_idx,
    /// whose row gets no gradient either.
    public let positionPaddingIndex: Int?
    /// DeBERTa multiplies the LayerNorm's output by the attention mask: padding rows are 0.
    public let zeroesPadding: Bool

    init(_ layout: inout ParameterLayout, _ config: BertConfig) {
        let E = config.embeddingSize
        wordEmbeddings = layout.add("embeddings.word_embeddings.weight", [config.vocabSize, E])
        positionEmbeddings = config.positionBiasedInput
            ? layout.add("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, E],
                         trainable: !config.sinusoidalPositions) : nil
        tokenTypeEmbeddings = config.usesTokenTypes
            ? layout.add("embeddings.token_type_embeddings.weight", [config.typeVocabSize, E]) : nil
        zeroesPadding = config.modelType == .debertaV2
        layerNorm = LayerNormWeights(&layout, "embeddings.LayerNorm", channels: E, eps: Float(config.layerNormEps))
        switch config.modelType {
        case .electra where config.projectsEmbeddings:
            projection = Linear(&layout, "embeddings_project", in: E, out: config.hiddenSize)
        case .albert:
            projection = Linear(&layout, "encoder.embedding_hidden_mapping_in", in: E, out: config.hiddenSize)
        default:
            projection = nil
        }
        let pad = config.padTokenID
        paddingIndex = pad >= 0 && pad < config.vocabSize ? pad : nil
        positionPaddingIndex = config.modelType.positionsFollowPadding ? pad : nil
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

    init(_ layout: inout ParameterLayout, _ names: LayerNames, _ config: BertConfig) {
        let C = config.hiddenSize
        let wq = layout.add(names.query + ".weight", [C, C])
        let wk = layout.add(names.key + ".weight", [C, C])
        let wv = layout.add(names.value + ".weight", [C, C])
        let bq = layout.add(names.query + ".bias", [C])
        let bk = layout.add(names.key + ".bias", [C])
        let bv = layout.add(names.value + ".bias", [C])
        query = Linear(weight: wq, bias: bq)
        key = Linear(weight: wk, bias: bk)
        value = Linear(weight: wv, bias: bv)
        qkv = Linear(
            weight: ParameterTensor(name: names.query + ".qkv.weight", hfName: "", shape: [3 * C, C], offset: wq.offset),
            bias: ParameterTensor(name: names.query + ".qkv.bias", hfName: "", shape: [3 * C], offset: bq.offset))
        heads = config.numAttentionHeads
    }
}

/// attention.output.*: dense (C,C), then LayerNorm(dense + residual).
public struct BertSelfOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNormWeights
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

/// encoder.layer.N.* (DistilBERT's transformer.layer.N.*, ALBERT's shared layer group).
public struct BertLayer: Sendable {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertOutput
    /// Where its parameters lie in the flat buffer (one block: they are laid out together).
    public let parameterRange: Range<Int>

    init(_ layout: inout ParameterLayout, _ names: LayerNames, _ config: BertConfig) {
        let first = layout.totalCount
        let C = config.hiddenSize, I = config.intermediateSize, eps = Float(config.layerNormEps)
        attention = BertAttention(
            selfAttention: BertSelfAttention(&layout, names, config),
            output: BertSelfOutput(dense: Linear(&layout, names.attentionOutput, in: C, out: C),
                                   layerNorm: LayerNormWeights(&layout, names.attentionLayerNorm, channels: C, eps: eps)))
        intermediate = BertIntermediate(dense: Linear(&layout, names.intermediate, in: C, out: I), activation: config.hiddenAct)
        output = BertOutput(dense: Linear(&layout, names.output, in: I, out: C),
                            layerNorm: LayerNormWeights(&layout, names.outputLayerNorm, channels: C, eps: eps))
        parameterRange = first ..< layout.totalCount
    }

    /// The weights of its four products: q|k|v (one (3C,C) block), the attention output's dense,
    /// the intermediate and the output dense.
    var linearWeights: [ParameterTensor] {
        [attention.selfAttention.qkv.weight, attention.output.dense.weight, intermediate.dense.weight, output.dense.weight]
    }
}

/// encoder.*: one `BertLayer` per layer. ALBERT's layers are views of their shared layer
/// group's parameters, so each use adds its gradient into the same place: the shared layer's
/// gradient is the sum over its uses, as autograd gives it.
public struct BertEncoder: Sendable {
    public let layers: [BertLayer]
    /// DeBERTa's relative position embeddings, shared by every layer's attention.
    public let relative: RelativeEmbeddings?
}

/// DeBERTa's encoder.rel_embeddings (2S, C) and, with norm_rel_ebd "layer_norm", the
/// encoder.LayerNorm over them. Each layer projects them with its own query and key weights
/// (share_att_key) into the positions its queries and keys meet.
public struct RelativeEmbeddings: Sendable {
    public let embeddings: ParameterTensor
    public let layerNorm: LayerNormWeights?
    public let settings: BertConfig.RelativeAttention
    /// 2S
    public var rows: Int { embeddings.shape[0] }

    init(_ layout: inout ParameterLayout, _ config: BertConfig, _ settings: BertConfig.RelativeAttention) {
        self.settings = settings
        embeddings = layout.add("encoder.rel_embeddings.weight", [2 * settings.span, config.hiddenSize])
        layerNorm = settings.normalizesEmbeddings
            ? LayerNormWeights(&layout, "encoder.LayerNorm", channels: config.hiddenSize, eps: Float(config.layerNormEps)) : nil
    }
}

/// The whole parameter set of a `…ForQuestionAnswering`, in buffer order.
public struct BertArchitecture: Sendable {
    public let layout: ParameterLayout
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder
    /// qa_outputs: (2,C) weight, (2) bias; output column 0 is the start logit, 1 the end logit.
    public let qaOutputs: Linear

    public init(config: BertConfig) {
        var layout = ParameterLayout(basePrefix: config.modelType.basePrefix)
        embeddings = BertEmbeddings(&layout, config)
        let L = config.numHiddenLayers
        if config.modelType == .albert {
            let G = config.numHiddenGroups
            let groups = (0..<G).map { BertLayer(&layout, LayerNames(.albert, index: $0), config) }
            // AlbertTransformer: group_idx = int(i / (num_hidden_layers / num_hidden_groups))
            encoder = BertEncoder(layers: (0..<L).map { groups[Int(Double($0) / (Double(L) / Double(G)))] }, relative: nil)
        } else {
            let layers = (0..<L).map { BertLayer(&layout, LayerNames(config.modelType, index: $0), config) }
            encoder = BertEncoder(layers: layers, relative: config.relativeAttention.map { RelativeEmbeddings(&layout, config, $0) })
        }
        qaOutputs = Linear(&layout, "qa_outputs", in: config.hiddenSize, out: 2)
        self.layout = layout
    }
}
