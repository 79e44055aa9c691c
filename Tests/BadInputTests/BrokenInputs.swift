import BERT
import Foundation
import TestSupport

/// The broken files the bad-input suite feeds to the library and the CLI, made once per test
/// run from a random tiny model (hidden 32, 2 layers, 4 heads) and a tiny SQuAD file.
enum BrokenInputs {
    nonisolated(unsafe) private static var cached: URL?
    private static let lock = NSLock()

    /// The folder holding `good-model/`, one folder per broken model (see `modelCases`),
    /// one file per broken SQuAD file (see `squadCases`) and `good.json`.
    static func root() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let root = try TinyModel.temporaryFolder("bertqa-bad-input")
        try makeModels(in: root)
        try makeSQuADFiles(in: root)
        cached = root
        return root
    }

    nonisolated(unsafe) static let config: [String: Any] = [
        "architectures": ["BertForQuestionAnswering"], "model_type": "bert", "vocab_size": 30522,
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
        "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
    ]

    /// Broken model folders: name → (what it breaks, what the one-line error must mention).
    static let modelCases: [(name: String, mention: String)] = [
        ("no-config", "config.json"),
        ("empty-config", "config.json"),
        ("binary-config", "config.json"),
        ("truncated-config", "config.json"),
        ("config-wrong-type", "hidden_size"),
        ("config-zero-heads", "num_attention_heads"),
        ("config-negative-layers", "num_hidden_layers"),
        ("config-heads-do-not-divide", "num_attention_heads"),
        ("config-unknown-activation", "hidden_act"),
        ("config-disagrees-with-weights", "shape"),
        ("config-more-layers-than-weights", "layer.2"),
        ("no-weights", "model.safetensors"),
        ("empty-weights", "model.safetensors"),
        ("binary-weights", "model.safetensors"),
        ("truncated-weights", "model.safetensors"),
        ("no-vocab", "vocab.txt"),
        ("empty-vocab", "vocab.txt"),
        ("vocab-without-special-tokens", "[CLS]"),
        ("binary-vocab", "vocab.txt"),
        ("vocab-larger-than-config", "vocab_size"),
    ]

    private static func makeModels(in root: URL) throws {
        let fm = FileManager.default
        let good = root.appendingPathComponent("good-model")
        try fm.createDirectory(at: good, withIntermediateDirectories: true)
        let bertConfig = BertConfig(vocabSize: 30522, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                    intermediateSize: 64, maxPositionEmbeddings: 512)
        try BertForQuestionAnswering(config: bertConfig, seed: 3).save(to: good)
        try TinyModel.copyTokenizer(to: good)
        let weights = try Data(contentsOf: good.appendingPathComponent("model.safetensors"))
        let vocab = try Data(contentsOf: good.appendingPathComponent("vocab.txt"))
        let garbage = Data((0 ..< 4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) } + [0xFF, 0xFE, 0x00])

        for (name, _) in modelCases {
            let dir = root.appendingPathComponent(name)
            try fm.copyItem(at: good, to: dir)
            func write(_ file: String, _ data: Data) throws { try data.write(to: dir.appendingPathComponent(file)) }
            func remove(_ file: String) throws { try fm.removeItem(at: dir.appendingPathComponent(file)) }
            func config(_ change: (inout [String: Any]) -> Void) throws {
                var c = Self.config
                change(&c)
                try write("config.json", JSONSerialization.data(withJSONObject: c))
            }
            switch name {
            case "no-config": try remove("config.json")
            case "empty-config": try write("config.json", Data())
            case "binary-config": try write("config.json", garbage)
            case "truncated-config": try write("config.json", JSONSerialization.data(withJSONObject: Self.config).prefix(40))
            case "config-wrong-type": try config { $0["hidden_size"] = "thirty-two" }
            case "config-zero-heads": try config { $0["num_attention_heads"] = 0 }
            case "config-negative-layers": try config { $0["num_hidden_layers"] = -1 }
            case "config-heads-do-not-divide": try config { $0["num_attention_heads"] = 5 }
            case "config-unknown-activation": try config { $0["hidden_act"] = "swish-9" }
            case "config-disagrees-with-weights": try config { $0["hidden_size"] = 64; $0["num_attention_heads"] = 4 }
            case "config-more-layers-than-weights": try config { $0["num_hidden_layers"] = 3 }
            case "no-weights": try remove("model.safetensors")
            case "empty-weights": try write("model.safetensors", Data())
            case "binary-weights": try write("model.safetensors", garbage)
            case "truncated-weights": try write("model.safetensors", weights.prefix(weights.count / 2))
            case "no-vocab": try remove("vocab.txt")
            case "empty-vocab": try write("vocab.txt", Data())
            case "vocab-without-special-tokens":
                let words = String(decoding: vocab, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("[") }
                try write("vocab.txt", Data(words.joined(separator: "\n").utf8))
            case "binary-vocab": try write("vocab.txt", garbage)
            case "vocab-larger-than-config":
                // A model with a 1,000-token embedding table beside the 30,522-token vocabulary.
                let small = BertConfig(vocabSize: 1000, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                       intermediateSize: 64, maxPositionEmbeddings: 512)
                try BertForQuestionAnswering(config: small, seed: 3).save(to: dir)
            default: fatalError("no recipe for \(name)")
            }
        }
    }

    /// Broken SQuAD files: name → what the one-line error must mention.
    static let squadCases: [(name: String, mention: String)] = [
        ("missing.json", "missing.json"),
        ("empty.json", "empty.json"),
        ("binary.json", "binary.json"),
        ("truncated.json", "truncated.json"),
        ("invalid-utf8.json", "UTF-8"),
        ("nul-byte.json", "nul-byte.json"),
        ("top-level-array.json", "object"),
        ("data-not-a-list.json", "data"),
        ("context-not-a-string.json", "context"),
        ("answer-start-not-a-number.json", "answer_start"),
        ("question-missing.json", "question"),
        ("id-missing.json", "id"),
    ]

    nonisolated(unsafe) static let goodSQuAD: [String: Any] = ["version": "1.1", "data": [[
        "title": "Physics", "paragraphs": [[
            "context": "Albert Einstein developed the theory of relativity in the early twentieth century.",
            "qas": [["id": "q1", "question": "Who developed relativity?",
                     "answers": [["text": "Albert Einstein", "answer_start": 0]]]],
        ]],
    ]]]

    private static func makeSQuADFiles(in root: URL) throws {
        let good = try JSONSerialization.data(withJSONObject: goodSQuAD)
        try good.write(to: root.appendingPathComponent("good.json"))
        try Data(#"{"q1": "Albert Einstein"}"#.utf8).write(to: root.appendingPathComponent("predictions.json"))
        let text = String(decoding: good, as: UTF8.self)
        func edit(_ change: (inout [String: Any], inout [String: Any], inout [String: Any]) -> Void) throws -> Data {
            // (paragraph, question, answer) of the one question in goodSQuAD.
            var paragraph = ((goodSQuAD["data"] as! [[String: Any]])[0]["paragraphs"] as! [[String: Any]])[0]
            var qa = (paragraph["qas"] as! [[String: Any]])[0]
            var answer = (qa["answers"] as! [[String: Any]])[0]
            change(&paragraph, &qa, &answer)
            qa["answers"] = [answer]
            paragraph["qas"] = [qa]
            return try JSONSerialization.data(withJSONObject: ["version": "1.1", "data": [["title": "T", "paragraphs": [paragraph]]]])
        }
        let files: [String: Data] = [
            "empty.json": Data(),
            "binary.json": Data([0x00, 0x01, 0x02, 0xFF, 0xFE, 0x80, 0x7B]),
            "truncated.json": good.prefix(good.count / 2),
            "invalid-utf8.json": Data(text.replacingOccurrences(of: "Albert", with: "Alb\u{1}rt").utf8)
                .map { $0 == 0x01 ? 0xFF : $0 }.withUnsafeBufferPointer { Data(buffer: $0) },
            "nul-byte.json": Data(text.replacingOccurrences(of: "theory", with: "the\u{0}ory").utf8),
            "top-level-array.json": Data("[1, 2, 3]".utf8),
            "data-not-a-list.json": Data(#"{"version": "1.1", "data": "none"}"#.utf8),
            "context-not-a-string.json": try edit { p, _, _ in p["context"] = 42 },
            "answer-start-not-a-number.json": try edit { _, _, a in a["answer_start"] = "zero" },
            "question-missing.json": try edit { _, q, _ in q["question"] = nil },
            "id-missing.json": try edit { _, q, _ in q["id"] = nil },
        ]
        for (name, data) in files { try data.write(to: root.appendingPathComponent(name)) }
    }
}
