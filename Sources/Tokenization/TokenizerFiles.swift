import Foundation

/// What a model folder says about its tokenizer: the vocabulary, the normalizer options,
/// the special and added tokens. Read from `vocab.txt`, `tokenizer.json` (when present) and
/// `tokenizer_config.json` (when present), the files `BertTokenizerFast` reads.
public struct TokenizerFiles: Sendable {
    public var vocabulary: Vocabulary
    public var vocabularyPath: String
    public var normalizer: BertNormalizerOptions
    public var unkToken = "[UNK]"
    public var clsToken = "[CLS]"
    public var sepToken = "[SEP]"
    public var padToken = "[PAD]"
    public var maskToken = "[MASK]"
    public var maxInputCharsPerWord = 100
    /// Tokens matched verbatim in the raw text before normalization (HF's added vocabulary).
    public var addedTokens: [String] = []
    /// `model_max_length` from `tokenizer_config.json`, if given.
    public var modelMaxLength: Int?
    /// Truncation/padding lengths stored in `tokenizer.json` (sentence-transformers stores 128).
    /// Informational only: as in `transformers`, only explicit call options truncate or pad.
    public var storedTruncationMaxLength: Int?

    /// Reads a model folder. Throws `TokenizerError` naming the file at fault.
    public static func load(directory: URL) throws -> TokenizerFiles {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw TokenizerError.fileNotFound(path: directory.path)
        }
        guard isDirectory.boolValue else {
            throw TokenizerError.unreadableFile(path: directory.path, reason: "not a directory")
        }
        let vocabURL = directory.appendingPathComponent("vocab.txt")
        let tokenizerJSONURL = directory.appendingPathComponent("tokenizer.json")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let fm = FileManager.default

        var normalizer = BertNormalizerOptions()
        var files: TokenizerFiles
        var jsonVocabulary: Vocabulary? = nil
        var jsonAdded: [String] = []
        var jsonUnk: String? = nil
        var maxChars = 100
        var storedTruncation: Int? = nil
        var normalizerFromJSON = false

        if fm.fileExists(atPath: tokenizerJSONURL.path) {
            let root = try jsonObject(tokenizerJSONURL)
            if let n = root["normalizer"], !(n is NSNull) {
                guard let n = n as? [String: Any] else {
                    throw TokenizerError.malformedFile(path: tokenizerJSONURL.path, reason: "\"normalizer\" is not an object")
                }
                let type = n["type"] as? String
                guard type == "BertNormalizer" else {
                    throw TokenizerError.malformedFile(path: tokenizerJSONURL.path,
                        reason: "unsupported normalizer \(type ?? "without a type"); only BertNormalizer is supported")
                }
                normalizer.cleanText = try bool(n, "clean_text", default: true, tokenizerJSONURL)
                normalizer.handleChineseChars = try bool(n, "handle_chinese_chars", default: true, tokenizerJSONURL)
                normalizer.lowercase = try bool(n, "lowercase", default: true, tokenizerJSONURL)
                if let s = n["strip_accents"], !(s is NSNull) {
                    guard let b = s as? Bool else {
                        throw TokenizerError.malformedFile(path: tokenizerJSONURL.path, reason: "normalizer.strip_accents must be true, false or null")
                    }
                    normalizer.stripAccents = b
                } else {
                    normalizer.stripAccents = nil
                }
                normalizerFromJSON = true
            }
            if let model = root["model"] {
                guard let model = model as? [String: Any] else {
                    throw TokenizerError.malformedFile(path: tokenizerJSONURL.path, reason: "\"model\" is not an object")
                }
                if let type = model["type"] as? String, type != "WordPiece" {
                    throw TokenizerError.malformedFile(path: tokenizerJSONURL.path,
                        reason: "unsupported model \(type); only WordPiece is supported")
                }
                if let prefix = model["continuing_subword_prefix"] as? String, prefix != "##" {
                    throw TokenizerError.malformedFile(path: tokenizerJSONURL.path,
                        reason: "unsupported continuing_subword_prefix \(prefix); only ## is supported")
                }
                jsonUnk = model["unk_token"] as? String
                if let m = model["max_input_chars_per_word"] as? Int { maxChars = m }
                if let vocab = model["vocab"] {
                    guard let vocab = vocab as? [String: Any] else {
                        throw TokenizerError.malformedFile(path: tokenizerJSONURL.path, reason: "model.vocab is not an object")
                    }
                    jsonVocabulary = try vocabularyFromJSON(vocab, tokenizerJSONURL)
                }
            }
            if let added = root["added_tokens"] {
                guard let added = added as? [[String: Any]] else {
                    throw TokenizerError.malformedFile(path: tokenizerJSONURL.path, reason: "\"added_tokens\" is not a list of objects")
                }
                for token in added {
                    guard let content = token["content"] as? String, !content.isEmpty else {
                        throw TokenizerError.malformedFile(path: tokenizerJSONURL.path, reason: "an added token has no \"content\"")
                    }
                    jsonAdded.append(content)
                }
            }
            if let t = root["truncation"] as? [String: Any] { storedTruncation = t["max_length"] as? Int }
        }

        // vocab.txt is read byte-exactly; tokenizer.json's vocabulary is the fallback.
        if fm.fileExists(atPath: vocabURL.path) {
            files = TokenizerFiles(vocabulary: try Vocabulary.load(vocabTxt: vocabURL),
                                   vocabularyPath: vocabURL.path, normalizer: normalizer)
        } else if let v = jsonVocabulary {
            files = TokenizerFiles(vocabulary: v, vocabularyPath: tokenizerJSONURL.path, normalizer: normalizer)
        } else {
            throw TokenizerError.fileNotFound(path: vocabURL.path)
        }
        files.maxInputCharsPerWord = maxChars
        files.storedTruncationMaxLength = storedTruncation
        if let unk = jsonUnk { files.unkToken = unk }

        if fm.fileExists(atPath: configURL.path) {
            let config = try jsonObject(configURL)
            if !normalizerFromJSON {
                files.normalizer.lowercase = try bool(config, "do_lower_case", default: true, configURL)
                files.normalizer.handleChineseChars = try bool(config, "tokenize_chinese_chars", default: true, configURL)
                if let s = config["strip_accents"] as? Bool { files.normalizer.stripAccents = s }
            }
            if let m = config["model_max_length"] as? Int { files.modelMaxLength = m }
            for (key, path) in [("unk_token", \TokenizerFiles.unkToken), ("cls_token", \.clsToken),
                                ("sep_token", \.sepToken), ("pad_token", \.padToken), ("mask_token", \.maskToken)] {
                if let name = config[key] as? String {
                    files[keyPath: path] = name
                } else if let object = config[key] as? [String: Any], let name = object["content"] as? String {
                    files[keyPath: path] = name
                }
            }
        }

        for name in [files.clsToken, files.sepToken, files.unkToken, files.padToken] {
            if files.vocabulary.id(of: name) == nil {
                throw TokenizerError.missingSpecialToken(token: name, path: files.vocabularyPath)
            }
        }
        if !jsonAdded.isEmpty {
            files.addedTokens = jsonAdded
        } else {
            // Without tokenizer.json, transformers registers the special tokens as added tokens.
            files.addedTokens = [files.padToken, files.unkToken, files.clsToken, files.sepToken, files.maskToken]
                .filter { files.vocabulary.id(of: $0) != nil }
        }
        return files
    }

    private static func jsonObject(_ url: URL) throws -> [String: Any] {
        let data = try readFile(url)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.malformedFile(path: url.path, reason: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw TokenizerError.malformedFile(path: url.path, reason: "the top level is not a JSON object")
        }
        return dict
    }

    private static func bool(_ dict: [String: Any], _ key: String, default value: Bool, _ url: URL) throws -> Bool {
        guard let raw = dict[key], !(raw is NSNull) else { return value }
        if let b = raw as? Bool { return b }
        throw TokenizerError.malformedFile(path: url.path, reason: "\"\(key)\" must be true or false")
    }

    private static func vocabularyFromJSON(_ vocab: [String: Any], _ url: URL) throws -> Vocabulary {
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0, id < vocab.count else {
                throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab id of \"\(token)\" is not an integer in 0..<\(vocab.count)")
            }
            tokens[id] = token
        }
        guard let missing = tokens.firstIndex(where: { $0 == nil }) else {
            return Vocabulary(tokens: tokens.map { $0! })
        }
        throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab has no token with id \(missing)")
    }
}
