import Foundation
import Kernels

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
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BertError.fileNotFound(path: url.path)
        }
        let data: Data
        // An empty regular file is named as such, and never reaches Data(contentsOf:): on Linux,
        // swift-foundation's zero-size read path leaks a 4 KB buffer (found by the SQuAD fuzzer).
        var info = stat()
        if stat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size == 0 {
            throw BertError.unreadableFile(path: url.path, reason: "the file is empty")
        }
        do { data = try Data(contentsOf: url) } catch {
            throw BertError.unreadableFile(path: url.path, reason: "\(error)")
        }
        return try BertConfig(jsonData: data, source: url.path)
    }

    /// Parses config JSON; `source` names the file in errors.
    public init(jsonData: Data, source: String = "config.json") throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: jsonData) } catch {
            throw BertError.invalidConfig(path: source, field: "(root)", reason: "is not valid JSON: \(error)")
        }
        guard let json = object as? [String: Any] else {
            throw BertError.invalidConfig(path: source, field: "(root)", reason: "is not a JSON object")
        }
        let reader = ConfigReader(json: json, source: source)
        let defaults = BertConfig()
        if let type = json["model_type"] as? String, type != "bert" {
            throw BertError.unsupportedConfig(field: "model_type", value: type)
        }
        if let kind = json["position_embedding_type"] as? String, kind != "absolute" {
            throw BertError.unsupportedConfig(field: "position_embedding_type", value: kind)
        }
        let actName = try reader.string("hidden_act", default: "gelu")
        guard let act = BertConfig.activation(named: actName) else {
            throw BertError.unsupportedConfig(field: "hidden_act", value: actName)
        }
        self.init(
            vocabSize: try reader.int("vocab_size", default: defaults.vocabSize),
            hiddenSize: try reader.int("hidden_size", default: defaults.hiddenSize),
            numHiddenLayers: try reader.int("num_hidden_layers", default: defaults.numHiddenLayers),
            numAttentionHeads: try reader.int("num_attention_heads", default: defaults.numAttentionHeads),
            intermediateSize: try reader.int("intermediate_size", default: defaults.intermediateSize),
            hiddenAct: act,
            hiddenDropoutProb: try reader.double("hidden_dropout_prob", default: defaults.hiddenDropoutProb),
            attentionProbsDropoutProb: try reader.double(
                "attention_probs_dropout_prob", default: defaults.attentionProbsDropoutProb),
            maxPositionEmbeddings: try reader.int("max_position_embeddings", default: defaults.maxPositionEmbeddings),
            typeVocabSize: try reader.int("type_vocab_size", default: defaults.typeVocabSize),
            initializerRange: try reader.double("initializer_range", default: defaults.initializerRange),
            layerNormEps: try reader.double("layer_norm_eps", default: defaults.layerNormEps),
            padTokenID: try reader.int("pad_token_id", default: defaults.padTokenID))
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
    public func jsonObject() -> [String: Any] {
        [
            "architectures": ["BertForQuestionAnswering"],
            "model_type": "bert",
            "vocab_size": vocabSize,
            "hidden_size": hiddenSize,
            "num_hidden_layers": numHiddenLayers,
            "num_attention_heads": numAttentionHeads,
            "intermediate_size": intermediateSize,
            "hidden_act": hiddenAct.rawValue,
            "hidden_dropout_prob": hiddenDropoutProb,
            "attention_probs_dropout_prob": attentionProbsDropoutProb,
            "max_position_embeddings": maxPositionEmbeddings,
            "type_vocab_size": typeVocabSize,
            "initializer_range": initializerRange,
            "layer_norm_eps": layerNormEps,
            "pad_token_id": padTokenID,
            "position_embedding_type": "absolute",
            "classifier_dropout": NSNull(),
            "use_cache": true,
        ]
    }

    /// Pretty-printed, key-sorted JSON text of `jsonObject()`.
    public func jsonData() throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: jsonObject(), options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw BertError.writeFailed(path: "config.json", reason: "\(error)")
        }
    }
}

/// Typed field access with errors that name the field.
private struct ConfigReader {
    let json: [String: Any]
    let source: String

    func int(_ key: String, default value: Int) throws -> Int {
        guard let raw = json[key], !(raw is NSNull) else { return value }
        if let n = raw as? NSNumber {
            let d = n.doubleValue
            if d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        }
        throw BertError.invalidConfig(path: source, field: key, reason: "must be an integer, got \(raw)")
    }

    func double(_ key: String, default value: Double) throws -> Double {
        guard let raw = json[key], !(raw is NSNull) else { return value }
        if let n = raw as? NSNumber { return n.doubleValue }
        throw BertError.invalidConfig(path: source, field: key, reason: "must be a number, got \(raw)")
    }

    func string(_ key: String, default value: String) throws -> String {
        guard let raw = json[key], !(raw is NSNull) else { return value }
        if let s = raw as? String { return s }
        throw BertError.invalidConfig(path: source, field: key, reason: "must be a string, got \(raw)")
    }
}
