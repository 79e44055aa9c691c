import Foundation
import Kernels
import Support

/// The fields of a Hugging Face BERT `config.json` that the model uses.
public struct BertConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: Activation
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var initializerRange: Double
    public var layerNormEps: Double
    public var padTokenID: Int

    public init(
        vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12,
        numAttentionHeads: Int = 12, intermediateSize: Int = 3072, hiddenAct: Activation = .gelu,
        hiddenDropoutProb: Double = 0.1, attentionProbsDropoutProb: Double = 0.1,
        maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2, initializerRange: Double = 0.02,
        layerNormEps: Double = 1e-12, padTokenID: Int = 0
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.initializerRange = initializerRange
        self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID
    }

    /// bert-base-uncased's shape (HF's BertConfig defaults).
    public static let bertBase = BertConfig()

    /// all-MiniLM-L6-v2's shape.
    public static let miniLML6 = BertConfig(
        hiddenSize: 384, numHiddenLayers: 6, intermediateSize: 1536)

    public var headSize: Int { hiddenSize / numAttentionHeads }

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

    /// Reads a parsed `config.json`, with HF's defaults for absent fields.
    public init(json: JSONValue, source: String = "config.json") throws {
        let file: ConfigFile
        do { file = try JSONValueDecoder.decode(ConfigFile.self, from: json) } catch {
            let field = error.path == "$" ? "(root)" : String(error.path.dropFirst(2))
            throw BertError.invalidConfig(path: source, field: field, reason: error.reason)
        }
        if let type = file.modelType, type != "bert" {
            throw BertError.unsupportedConfig(field: "model_type", value: type)
        }
        if let kind = file.positionEmbeddingType, kind != "absolute" {
            throw BertError.unsupportedConfig(field: "position_embedding_type", value: kind)
        }
        let defaults = BertConfig()
        let actName = file.hiddenAct ?? defaults.hiddenAct.rawValue
        guard let act = BertConfig.activation(named: actName) else {
            throw BertError.unsupportedConfig(field: "hidden_act", value: actName)
        }
        self.init(
            vocabSize: file.vocabSize ?? defaults.vocabSize,
            hiddenSize: file.hiddenSize ?? defaults.hiddenSize,
            numHiddenLayers: file.numHiddenLayers ?? defaults.numHiddenLayers,
            numAttentionHeads: file.numAttentionHeads ?? defaults.numAttentionHeads,
            intermediateSize: file.intermediateSize ?? defaults.intermediateSize,
            hiddenAct: act,
            hiddenDropoutProb: file.hiddenDropoutProb ?? defaults.hiddenDropoutProb,
            attentionProbsDropoutProb: file.attentionProbsDropoutProb ?? defaults.attentionProbsDropoutProb,
            maxPositionEmbeddings: file.maxPositionEmbeddings ?? defaults.maxPositionEmbeddings,
            typeVocabSize: file.typeVocabSize ?? defaults.typeVocabSize,
            initializerRange: file.initializerRange ?? defaults.initializerRange,
            layerNormEps: file.layerNormEps ?? defaults.layerNormEps,
            padTokenID: file.padTokenID ?? defaults.padTokenID)
        try validate(source: source)
    }

    /// Checks the sizes are positive and the heads divide the hidden size.
    public func validate(source: String = "config") throws {
        let sizes: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings), ("type_vocab_size", typeVocabSize),
        ]
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
        for (field, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb)]
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

    /// The config as HF writes it for a `BertForQuestionAnswering`.
    public var json: JSONValue {
        .object([
            ("architectures", .array([.string("BertForQuestionAnswering")])),
            ("model_type", .string("bert")),
            ("vocab_size", .int(vocabSize)),
            ("hidden_size", .int(hiddenSize)),
            ("num_hidden_layers", .int(numHiddenLayers)),
            ("num_attention_heads", .int(numAttentionHeads)),
            ("intermediate_size", .int(intermediateSize)),
            ("hidden_act", .string(hiddenAct.rawValue)),
            ("hidden_dropout_prob", .double(hiddenDropoutProb)),
            ("attention_probs_dropout_prob", .double(attentionProbsDropoutProb)),
            ("max_position_embeddings", .int(maxPositionEmbeddings)),
            ("type_vocab_size", .int(typeVocabSize)),
            ("initializer_range", .double(initializerRange)),
            ("layer_norm_eps", .double(layerNormEps)),
            ("pad_token_id", .int(padTokenID)),
            ("position_embedding_type", .string("absolute")),
            ("classifier_dropout", .null),
            ("use_cache", .bool(true)),
        ])
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
    }
}
