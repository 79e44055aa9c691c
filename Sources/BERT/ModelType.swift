/// The architectures bertqa runs, by config.json's `model_type`. All are post-LayerNorm
/// transformer encoders with BERT's layer (self-attention, dense + LayerNorm, feed-forward,
/// dense + LayerNorm); what differs is named here and in `EncoderNames`, and handled where the
/// data passes it:
///
/// | model_type   | embeddings                                   | layers                        |
/// |--------------|----------------------------------------------|-------------------------------|
/// | bert         | word + type + position                       | BERT's                        |
/// | roberta, xlm-roberta | positions counted from padding_idx + 1, one token type | BERT's  |
/// | electra      | at embedding_size, projected to hidden_size when they differ | BERT's |
/// | distilbert   | word + position, no token types              | DistilBERT's names, no dropout after the attention output |
/// | albert       | at embedding_size, projected in the encoder  | one layer group shared by all layers; no dropout after the FFN |
/// | deberta-v2   | word (+ position, + type when configured), zeroed at padding | disentangled attention over relative positions (DeBERTa-v3 too) |
public enum ModelType: String, CaseIterable, Sendable {
    case bert
    case roberta
    case xlmRoberta = "xlm-roberta"
    case electra
    case distilbert
    case albert
    case debertaV2 = "deberta-v2"

    /// The base model's attribute in HF's `…ForQuestionAnswering`: every parameter name but
    /// the head's starts with it.
    public var basePrefix: String {
        switch self {
        case .bert: return "bert"
        case .roberta, .xlmRoberta: return "roberta"
        case .electra: return "electra"
        case .distilbert: return "distilbert"
        case .albert: return "albert"
        case .debertaV2: return "deberta"
        }
    }

    /// transformers' QA class, written to `architectures`.
    public var questionAnsweringClass: String {
        switch self {
        case .bert: return "BertForQuestionAnswering"
        case .roberta: return "RobertaForQuestionAnswering"
        case .xlmRoberta: return "XLMRobertaForQuestionAnswering"
        case .electra: return "ElectraForQuestionAnswering"
        case .distilbert: return "DistilBertForQuestionAnswering"
        case .albert: return "AlbertForQuestionAnswering"
        case .debertaV2: return "DebertaV2ForQuestionAnswering"
        }
    }

    /// RoBERTa's `create_position_ids_from_input_ids`: a real token's position is padding_idx + 1
    /// + its index among the real tokens; padding tokens get padding_idx.
    public var positionsFollowPadding: Bool { self == .roberta || self == .xlmRoberta }

    /// DistilBERT has no token type embeddings (and its tokenizer returns no type ids).
    public var hasTokenTypes: Bool { self != .distilbert }
}

/// Where each encoder layer's parameters sit in HF's state dict, per architecture: the same
/// eight Linear/LayerNorm modules under each family's names.
struct LayerNames {
    let query, key, value, attentionOutput, attentionLayerNorm, intermediate, output, outputLayerNorm: String

    /// Layer `index`'s names; for ALBERT, `index` is the layer group (its layers share it).
    init(_ type: ModelType, index: Int) {
        switch type {
        case .bert, .roberta, .xlmRoberta, .electra, .debertaV2:
            let p = "encoder.layer.\(index)"
            let projection = type == .debertaV2 ? "_proj" : ""  // DeBERTa's query_proj, key_proj, value_proj
            query = p + ".attention.self.query" + projection; key = p + ".attention.self.key" + projection
            value = p + ".attention.self.value" + projection
            attentionOutput = p + ".attention.output.dense"; attentionLayerNorm = p + ".attention.output.LayerNorm"
            intermediate = p + ".intermediate.dense"; output = p + ".output.dense"; outputLayerNorm = p + ".output.LayerNorm"
        case .distilbert:
            let p = "transformer.layer.\(index)"
            query = p + ".attention.q_lin"; key = p + ".attention.k_lin"; value = p + ".attention.v_lin"
            attentionOutput = p + ".attention.out_lin"; attentionLayerNorm = p + ".sa_layer_norm"
            intermediate = p + ".ffn.lin1"; output = p + ".ffn.lin2"; outputLayerNorm = p + ".output_layer_norm"
        case .albert:
            let p = "encoder.albert_layer_groups.\(index).albert_layers.0"
            query = p + ".attention.query"; key = p + ".attention.key"; value = p + ".attention.value"
            attentionOutput = p + ".attention.dense"; attentionLayerNorm = p + ".attention.LayerNorm"
            intermediate = p + ".ffn"; output = p + ".ffn_output"; outputLayerNorm = p + ".full_layer_layer_norm"
        }
    }
}
