import Foundation
import Kernels
import Support

/// The fields of a Hugging Face `config.json` that the model uses, for every architecture in
/// `ModelType` (DistilBERT's own names — dim, n_layers, hidden_dim... — are read into the
/// common fields).
public struct BertConfig: Sendable, Equatable {
    public var modelType: ModelType
    public var vocabSize: Int
    public var hiddenSize: Int
    /// The embedding tables' width: hidden_size except where ELECTRA and ALBERT factorize it
    /// (a Linear then projects the embeddings to hidden_size).
    public var embeddingSize: Int
    public var numHiddenLayers: Int
    /// ALBERT: how many layer groups the layers share (layer i uses group ⌊i / (layers / groups)⌋).
    public var numHiddenGroups: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: Activation
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    /// DistilBERT's qa_dropout, on the encoder's output before qa_outputs (0 elsewhere).
    public var qaDropoutProb: Double
    public var maxPositionEmbeddings: Int
    /// DistilBERT's sinusoidal_pos_embds: a fixed, untrained sinusoidal position table.
    public var sinusoidalPositions: Bool
    public var typeVocabSize: Int
    public var initializerRange: Double
    public var layerNormEps: Double
    public var padTokenID: Int
    /// DeBERTa's position_biased_input: whether absolute position embeddings are added (false
    /// in DeBERTa-v3: positions enter only through the relative attention).
    public var positionBiasedInput: Bool
    /// DeBERTa's disentangled attention; nil for every other architecture.
    public var relativeAttention: RelativeAttention?

    /// DeBERTa's relative-position settings (`relative_attention: true`).
    public struct RelativeAttention: Sendable, Equatable {
        /// position_buckets (≤ 0: none) and max_relative_positions (< 1: max_position_embeddings).
        public var positionBuckets: Int
        public var maxRelativePositions: Int
        /// pos_att_type: content→position and position→content terms.
        public var contentToPosition: Bool
        public var positionToContent: Bool
        /// norm_rel_ebd "layer_norm": encoder.LayerNorm over the relative embeddings.
        public var normalizesEmbeddings: Bool

        public init(positionBuckets: Int, maxRelativePositions: Int, contentToPosition: Bool = true,
                    positionToContent: Bool = true, normalizesEmbeddings: Bool = true) {
            self.positionBuckets = positionBuckets
            self.maxRelativePositions = maxRelativePositions
            self.contentToPosition = contentToPosition
            self.positionToContent = positionToContent
            self.normalizesEmbeddings = normalizesEmbeddings
        }

        /// S: the relative embeddings have 2S rows (att_span).
        public var span: Int { positionBuckets > 0 ? positionBuckets : maxRelativePositions }
        /// The score scale's factor: 1 + one per relative term.
        public var scaleFactor: Int { 1 + (contentToPosition ? 1 : 0) + (positionToContent ? 1 : 0) }
    }

    public init(
        modelType: ModelType = .bert,
        vocabSize: Int = 30522, hiddenSize: Int = 768, embeddingSize: Int? = nil, numHiddenLayers: Int = 12,
        numHiddenGroups: Int = 1, numAttentionHeads: Int = 12, intermediateSize: Int = 3072, hiddenAct: Activation = .gelu,
        hiddenDropoutProb: Double = 0.1, attentionProbsDropoutProb: Double = 0.1, qaDropoutProb: Double = 0,
        maxPositionEmbeddings: Int = 512, sinusoidalPositions: Bool = false, typeVocabSize: Int = 2,
        initializerRange: Double = 0.02, layerNormEps: Double = 1e-12, padTokenID: Int = 0,
        positionBiasedInput: Bool = true, relativeAttention: RelativeAttention? = nil
    ) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.embeddingSize = embeddingSize ?? hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numHiddenGroups = numHiddenGroups
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.qaDropoutProb = qaDropoutProb
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.sinusoidalPositions = sinusoidalPositions
        self.typeVocabSize = typeVocabSize
        self.initializerRange = initializerRange
        self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID
        self.positionBiasedInput = positionBiasedInput
        self.relativeAttention = relativeAttention
    }

    /// bert-base-uncased's shape (HF's BertConfig defaults).
    public static let bertBase = BertConfig()

    /// all-MiniLM-L6-v2's shape.
    public static let miniLML6 = BertConfig(
        hiddenSize: 384, numHiddenLayers: 6, intermediateSize: 1536)

    /// The base-sized shape of each family's usual QA checkpoint (random weights for `bench`):
    /// bert-base, roberta-base, xlm-roberta-base, electra-base, distilbert-base, albert-base-v2.
    public static func base(_ type: ModelType) -> BertConfig {
        switch type {
        case .bert: return .bertBase
        case .roberta: return BertConfig(modelType: .roberta, vocabSize: 50265, maxPositionEmbeddings: 514,
                                         typeVocabSize: 1, layerNormEps: 1e-5, padTokenID: 1)
        case .xlmRoberta: return BertConfig(modelType: .xlmRoberta, vocabSize: 250002, maxPositionEmbeddings: 514,
                                            typeVocabSize: 1, layerNormEps: 1e-5, padTokenID: 1)
        case .electra: return BertConfig(modelType: .electra)
        case .distilbert: return BertConfig(modelType: .distilbert, numHiddenLayers: 6, qaDropoutProb: 0.1)
        case .albert: return BertConfig(modelType: .albert, vocabSize: 30000, embeddingSize: 128, hiddenAct: .geluNew,
                                        hiddenDropoutProb: 0, attentionProbsDropoutProb: 0)
        case .debertaV2: return .debertaV3Base
        }
    }

    /// microsoft/deberta-v3-base's shape.
    public static let debertaV3Base = BertConfig(
        modelType: .debertaV2, vocabSize: 128100, typeVocabSize: 0, layerNormEps: 1e-7, positionBiasedInput: false,
        relativeAttention: RelativeAttention(positionBuckets: 256, maxRelativePositions: 512))

    /// What transformers' config class assumes for a field config.json leaves out.
    static func classDefaults(_ type: ModelType) -> BertConfig {
        switch type {
        case .bert: return BertConfig()
        case .roberta: return BertConfig(modelType: .roberta, vocabSize: 50265, padTokenID: 1)
        case .xlmRoberta: return BertConfig(modelType: .xlmRoberta, padTokenID: 1)
        case .electra: return BertConfig(modelType: .electra, hiddenSize: 256, embeddingSize: 128,
                                         numAttentionHeads: 4, intermediateSize: 1024)
        case .distilbert: return BertConfig(modelType: .distilbert, numHiddenLayers: 6, qaDropoutProb: 0.1)
        case .albert: return BertConfig(modelType: .albert, vocabSize: 30000, hiddenSize: 4096, embeddingSize: 128,
                                        numAttentionHeads: 64, intermediateSize: 16384, hiddenAct: .geluNew,
                                        hiddenDropoutProb: 0, attentionProbsDropoutProb: 0)
        case .debertaV2: return BertConfig(modelType: .debertaV2, vocabSize: 128100, hiddenSize: 1536, numHiddenLayers: 24,
                                           numAttentionHeads: 24, intermediateSize: 6144, typeVocabSize: 0, layerNormEps: 1e-7)
        }
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// Whether token type ids reach the model: not in DistilBERT, nor in a DeBERTa without a
    /// type table (type_vocab_size 0, as DeBERTa-v3).
    public var usesTokenTypes: Bool { modelType.hasTokenTypes && typeVocabSize > 0 }

    /// The longest window the position table covers: max_position_embeddings, less RoBERTa's
    /// padding_idx + 1 positions before the first token (514 → 512).
    public var maxSequenceLength: Int {
        maxPositionEmbeddings - (modelType.positionsFollowPadding ? padTokenID + 1 : 0)
    }

    /// Whether the embeddings pass through a Linear from embedding_size to hidden_size
    /// (ELECTRA's `embeddings_project` when the sizes differ, ALBERT's
    /// `encoder.embedding_hidden_mapping_in` always).
    public var projectsEmbeddings: Bool {
        modelType == .albert || (modelType == .electra && embeddingSize != hiddenSize)
    }

    /// Reads `config.json`.
    public static func load(from url: URL) throws -> BertConfig {
        let json: JSONValue
        do { json = try JSONValue.load(contentsOf: url) } catch {
            switch error {
            case .notFound(let path): throw BertError.fileNotFound(path: path)
            case .unreadable(let path, let reason): throw BertError.unreadableFile(path: path, reason: reason)
            case .malformed(let path, let reason): throw BertError.invalidConfig(path: path, field: "(root)", reason: "is not valid JSON: \(reason)")
            }
        }
        return try BertConfig(json: json, source: url.path)
    }

    /// Parses config JSON text; `source` names the file in errors.
    public init(jsonData: Data, source: String = "config.json") throws {
        let json: JSONValue
        do { json = try JSONValue.parse(jsonData) } catch {
            throw BertError.invalidConfig(path: source, field: "(root)", reason: "is not valid JSON: \(error)")
        }
        try self.init(json: json, source: source)
    }

    /// Reads a parsed `config.json`, with the family's defaults for absent fields. A file without
    /// `model_type` is read as BERT (as older BERT checkpoints were saved).
    public init(json: JSONValue, source: String = "config.json") throws {
        let file: ConfigFile
        do { file = try JSONValueDecoder.decode(ConfigFile.self, from: json) } catch {
            let field = error.path == "$" ? "(root)" : String(error.path.dropFirst(2))
            throw BertError.invalidConfig(path: source, field: field, reason: error.reason)
        }
        let typeName = file.modelType ?? "bert"
        guard let type = ModelType(rawValue: typeName) else { throw BertError.unsupportedModelType(typeName) }
        if let kind = file.positionEmbeddingType, kind != "absolute" {
            throw BertError.unsupportedConfig(field: "position_embedding_type", value: kind)
        }
        if type == .debertaV2 {
            for (field, value) in [("conv_kernel_size", file.convKernelSize ?? 0)] where value > 0 {
                throw BertError.unsupportedConfig(field: field, value: "\(value) (DeBERTa-v2's convolution layer; DeBERTa-v3 has none)")
            }
            if let e = file.embeddingSize, e != (file.hiddenSize ?? e) {
                throw BertError.unsupportedConfig(field: "embedding_size", value: "\(e) ≠ hidden_size (embed_proj)")
            }
            if file.relativeAttention == true, file.shareAttKey != true, !(file.posAttType?.names ?? []).isEmpty {
                throw BertError.unsupportedConfig(field: "share_att_key", value: "false (separate pos_key_proj / pos_query_proj)")
            }
        }
        if let inner = file.innerGroupNum, inner != 1 {
            throw BertError.unsupportedConfig(field: "inner_group_num", value: "\(inner) (only 1, as every released ALBERT)")
        }
        let d = BertConfig.classDefaults(type)
        let actName = (type == .distilbert ? file.activation : file.hiddenAct) ?? d.hiddenAct.rawValue
        guard let act = BertConfig.activation(named: actName) else {
            throw BertError.unsupportedConfig(field: type == .distilbert ? "activation" : "hidden_act", value: actName)
        }
        if type == .distilbert {
            self.init(
                modelType: type, vocabSize: file.vocabSize ?? d.vocabSize, hiddenSize: file.dim ?? d.hiddenSize,
                numHiddenLayers: file.nLayers ?? d.numHiddenLayers, numAttentionHeads: file.nHeads ?? d.numAttentionHeads,
                intermediateSize: file.hiddenDim ?? d.intermediateSize, hiddenAct: act,
                hiddenDropoutProb: file.dropout ?? d.hiddenDropoutProb,
                attentionProbsDropoutProb: file.attentionDropout ?? d.attentionProbsDropoutProb,
                qaDropoutProb: file.qaDropout ?? d.qaDropoutProb,
                maxPositionEmbeddings: file.maxPositionEmbeddings ?? d.maxPositionEmbeddings,
                sinusoidalPositions: file.sinusoidalPosEmbds ?? false, typeVocabSize: 1,
                initializerRange: file.initializerRange ?? d.initializerRange, layerNormEps: 1e-12,
                padTokenID: file.padTokenID ?? d.padTokenID)
        } else {
            let hidden = file.hiddenSize ?? d.hiddenSize
            // ELECTRA and ALBERT have an embedding_size (ELECTRA's class default, 128, is for its
            // own default hidden size; checkpoints always write it); the others embed at hidden_size.
            let factorized = type == .electra || type == .albert
            self.init(
                modelType: type, vocabSize: file.vocabSize ?? d.vocabSize, hiddenSize: hidden,
                embeddingSize: factorized ? file.embeddingSize ?? d.embeddingSize : hidden,
                numHiddenLayers: file.numHiddenLayers ?? d.numHiddenLayers,
                numHiddenGroups: type == .albert ? file.numHiddenGroups ?? 1 : 1,
                numAttentionHeads: file.numAttentionHeads ?? d.numAttentionHeads,
                intermediateSize: file.intermediateSize ?? d.intermediateSize, hiddenAct: act,
                hiddenDropoutProb: file.hiddenDropoutProb ?? d.hiddenDropoutProb,
                attentionProbsDropoutProb: file.attentionProbsDropoutProb ?? d.attentionProbsDropoutProb,
                maxPositionEmbeddings: file.maxPositionEmbeddings ?? d.maxPositionEmbeddings,
                typeVocabSize: file.typeVocabSize ?? d.typeVocabSize,
                initializerRange: file.initializerRange ?? d.initializerRange,
                layerNormEps: file.layerNormEps ?? d.layerNormEps, padTokenID: file.padTokenID ?? d.padTokenID)
            if type == .debertaV2 {
                positionBiasedInput = file.positionBiasedInput ?? true
                if file.relativeAttention == true {
                    let kinds = file.posAttType?.names ?? []
                    for kind in kinds where kind != "c2p" && kind != "p2c" {
                        throw BertError.unsupportedConfig(field: "pos_att_type", value: kind)
                    }
                    let maxRelative = file.maxRelativePositions ?? -1
                    relativeAttention = RelativeAttention(
                        positionBuckets: file.positionBuckets ?? -1,
                        maxRelativePositions: maxRelative < 1 ? maxPositionEmbeddings : maxRelative,
                        contentToPosition: kinds.contains("c2p"), positionToContent: kinds.contains("p2c"),
                        normalizesEmbeddings: (file.normRelEbd ?? "none").lowercased().split(separator: "|")
                            .contains { $0.trimmingCharacters(in: .whitespaces) == "layer_norm" })
                }
            }
        }
        try validate(source: source)
    }

    /// Checks the sizes are positive and the heads divide the hidden size.
    public func validate(source: String = "config") throws {
        var sizes: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings),
            ("embedding_size", embeddingSize), ("num_hidden_groups", numHiddenGroups),
        ]
        // DeBERTa may have no token type table (type_vocab_size 0); the others need one.
        if modelType != .debertaV2 { sizes.append(("type_vocab_size", typeVocabSize)) }
        if typeVocabSize < 0 {
            throw BertError.invalidConfig(path: source, field: "type_vocab_size", reason: "must not be negative, got \(typeVocabSize)")
        }
        if let relative = relativeAttention {
            sizes.append((relative.positionBuckets > 0 ? "position_buckets" : "max_relative_positions", relative.span))
        }
        for (field, value) in sizes where value <= 0 {
            throw BertError.invalidConfig(path: source, field: field, reason: "must be positive, got \(value)")
        }
        if hiddenSize % numAttentionHeads != 0 {
            throw BertError.invalidConfig(
                path: source, field: "num_attention_heads",
                reason: "(\(numAttentionHeads)) must divide hidden_size (\(hiddenSize))")
        }
        if !(layerNormEps > 0) {
            throw BertError.invalidConfig(path: source, field: "layer_norm_eps", reason: "must be positive")
        }
        if numHiddenGroups > numHiddenLayers {
            throw BertError.invalidConfig(path: source, field: "num_hidden_groups",
                                          reason: "(\(numHiddenGroups)) exceeds num_hidden_layers (\(numHiddenLayers))")
        }
        if modelType.positionsFollowPadding && !(padTokenID >= 0 && padTokenID + 1 < maxPositionEmbeddings) {
            throw BertError.invalidConfig(path: source, field: "pad_token_id",
                                          reason: "(\(padTokenID)) must leave positions after it in max_position_embeddings (\(maxPositionEmbeddings))")
        }
        for (field, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb),
                           ("qa_dropout", qaDropoutProb)]
        where !(p >= 0 && p <= 1) {
            throw BertError.invalidConfig(path: source, field: field, reason: "must be a probability in [0, 1], got \(p)")
        }
    }

    /// HF's activation names (ACT2FN) that map onto our kernels.
    public static func activation(named name: String) -> Activation? {
        switch name {
        case "gelu", "gelu_python": return .gelu
        case "gelu_new", "gelu_pytorch_tanh": return .geluNew
        case "relu": return .relu
        default: return nil
        }
    }

    /// The config as HF writes it for the family's `…ForQuestionAnswering`, in the family's
    /// field names.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("architectures", .array([.string(modelType.questionAnsweringClass)])),
            ("model_type", .string(modelType.rawValue)),
            ("vocab_size", .int(vocabSize)),
            ("max_position_embeddings", .int(maxPositionEmbeddings)),
            ("initializer_range", .double(initializerRange)),
            ("pad_token_id", .int(padTokenID)),
        ]
        if modelType == .distilbert {
            fields += [
                ("dim", .int(hiddenSize)), ("n_layers", .int(numHiddenLayers)), ("n_heads", .int(numAttentionHeads)),
                ("hidden_dim", .int(intermediateSize)), ("activation", .string(hiddenAct.rawValue)),
                ("dropout", .double(hiddenDropoutProb)), ("attention_dropout", .double(attentionProbsDropoutProb)),
                ("qa_dropout", .double(qaDropoutProb)), ("seq_classif_dropout", .double(0.2)),
                ("sinusoidal_pos_embds", .bool(sinusoidalPositions)), ("tie_weights_", .bool(true)),
            ]
            return .object(fields)
        }
        fields += [
            ("hidden_size", .int(hiddenSize)),
            ("num_hidden_layers", .int(numHiddenLayers)),
            ("num_attention_heads", .int(numAttentionHeads)),
            ("intermediate_size", .int(intermediateSize)),
            ("hidden_act", .string(hiddenAct.rawValue)),
            ("hidden_dropout_prob", .double(hiddenDropoutProb)),
            ("attention_probs_dropout_prob", .double(attentionProbsDropoutProb)),
            ("type_vocab_size", .int(typeVocabSize)),
            ("layer_norm_eps", .double(layerNormEps)),
            ("position_embedding_type", .string("absolute")),
            ("classifier_dropout", .null),
            ("use_cache", .bool(true)),
        ]
        if modelType == .electra || modelType == .albert { fields.append(("embedding_size", .int(embeddingSize))) }
        if modelType == .albert { fields += [("num_hidden_groups", .int(numHiddenGroups)), ("inner_group_num", .int(1))] }
        if modelType.positionsFollowPadding { fields += [("bos_token_id", .int(0)), ("eos_token_id", .int(2))] }
        if modelType == .debertaV2 {
            fields.removeAll { $0.0 == "position_embedding_type" || $0.0 == "use_cache" || $0.0 == "classifier_dropout" }
            fields.append(("position_biased_input", .bool(positionBiasedInput)))
            if let r = relativeAttention {
                let kinds = (r.positionToContent ? ["p2c"] : []) + (r.contentToPosition ? ["c2p"] : [])
                fields += [
                    ("relative_attention", .bool(true)), ("position_buckets", .int(r.positionBuckets)),
                    ("max_relative_positions", .int(r.maxRelativePositions)),
                    ("pos_att_type", .array(kinds.map { .string($0) })), ("share_att_key", .bool(true)),
                    ("norm_rel_ebd", .string(r.normalizesEmbeddings ? "layer_norm" : "none")),
                ]
            } else {
                fields.append(("relative_attention", .bool(false)))
            }
        }
        return .object(fields)
    }

    /// `config.json`'s text as transformers writes it (`json.dumps(indent=2, sort_keys=True)`).
    public func jsonData() -> Data {
        Data((json.pythonText(indent: 2, sortKeys: true) + "\n").utf8)
    }
}

/// `config.json` as transformers writes it; every field may be absent (HF's defaults apply).
private struct ConfigFile: Decodable {
    var modelType: String?
    var positionEmbeddingType: String?
    var hiddenAct: String?
    var vocabSize: Int?
    var hiddenSize: Int?
    var numHiddenLayers: Int?
    var numAttentionHeads: Int?
    var intermediateSize: Int?
    var hiddenDropoutProb: Double?
    var attentionProbsDropoutProb: Double?
    var maxPositionEmbeddings: Int?
    var typeVocabSize: Int?
    var initializerRange: Double?
    var layerNormEps: Double?
    var padTokenID: Int?
    var embeddingSize: Int?
    var numHiddenGroups: Int?
    var innerGroupNum: Int?
    // DistilBERT's names
    var dim: Int?
    var nLayers: Int?
    var nHeads: Int?
    var hiddenDim: Int?
    var activation: String?
    var dropout: Double?
    var attentionDropout: Double?
    var qaDropout: Double?
    var sinusoidalPosEmbds: Bool?
    // DeBERTa-v2's
    var relativeAttention: Bool?
    var positionBuckets: Int?
    var maxRelativePositions: Int?
    var posAttType: PositionAttentionTypes?
    var shareAttKey: Bool?
    var normRelEbd: String?
    var positionBiasedInput: Bool?
    var convKernelSize: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case positionEmbeddingType = "position_embedding_type"
        case hiddenAct = "hidden_act"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case initializerRange = "initializer_range"
        case layerNormEps = "layer_norm_eps"
        case padTokenID = "pad_token_id"
        case embeddingSize = "embedding_size"
        case numHiddenGroups = "num_hidden_groups"
        case innerGroupNum = "inner_group_num"
        case dim
        case nLayers = "n_layers"
        case nHeads = "n_heads"
        case hiddenDim = "hidden_dim"
        case activation
        case dropout
        case attentionDropout = "attention_dropout"
        case qaDropout = "qa_dropout"
        case sinusoidalPosEmbds = "sinusoidal_pos_embds"
        case relativeAttention = "relative_attention"
        case positionBuckets = "position_buckets"
        case maxRelativePositions = "max_relative_positions"
        case posAttType = "pos_att_type"
        case shareAttKey = "share_att_key"
        case normRelEbd = "norm_rel_ebd"
        case positionBiasedInput = "position_biased_input"
        case convKernelSize = "conv_kernel_size"
    }
}

/// DeBERTa's pos_att_type: a list (["p2c", "c2p"]) or, in older configs, one "p2c|c2p" string.
private struct PositionAttentionTypes: Decodable {
    var names: [String]

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([String].self) {
            names = list.map { $0.lowercased() }
        } else {
            names = try container.decode(String.self).lowercased().split(separator: "|")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
