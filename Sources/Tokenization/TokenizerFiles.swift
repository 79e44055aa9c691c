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
    /// From `tokenizer_config.json`'s `tokenizer_class` (DistilBERT's returns none).
    public var returnsTokenTypeIds = true
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
        let parsed = fm.fileExists(atPath: tokenizerJSONURL.path) ? try readTokenizerFile(tokenizerJSONURL) : nil
        let tokenizerJSON = try parsed.map { try decodeTokenizerFile(TokenizerJSON.self, from: $0, url: tokenizerJSONURL) }

        // vocab.txt is read byte-exactly; tokenizer.json's vocabulary is the fallback.
        var files: TokenizerFiles
        if fm.fileExists(atPath: vocabURL.path) {
            files = TokenizerFiles(vocabulary: try Vocabulary.load(vocabTxt: vocabURL),
                                   vocabularyPath: vocabURL.path, normalizer: BertNormalizerOptions())
        } else if let parsed, let vocab = try Tokenizers.vocabularyEntries(parsed, url: tokenizerJSONURL) {
            files = TokenizerFiles(vocabulary: try vocabulary(vocab, tokenizerJSONURL),
                                   vocabularyPath: tokenizerJSONURL.path, normalizer: BertNormalizerOptions())
        } else {
            throw TokenizerError.fileNotFound(path: vocabURL.path)
        }
        if let tokenizerJSON { try files.apply(tokenizerJSON, from: tokenizerJSONURL) }
        if fm.fileExists(atPath: configURL.path) {
            files.apply(try decodeTokenizerFile(TokenizerConfigJSON.self, from: configURL),
                        normalizerAlreadySet: tokenizerJSON?.normalizer != nil)
        }

        for name in [files.clsToken, files.sepToken, files.unkToken, files.padToken] {
            if files.vocabulary.id(of: name) == nil {
                throw TokenizerError.missingSpecialToken(token: name, path: files.vocabularyPath)
            }
        }
        if files.addedTokens.isEmpty {
            // Without tokenizer.json, transformers registers the special tokens as added tokens.
            files.addedTokens = [files.padToken, files.unkToken, files.clsToken, files.sepToken, files.maskToken]
                .filter { files.vocabulary.id(of: $0) != nil }
        }
        return files
    }

    /// Takes the normalizer, the WordPiece settings and the added tokens from `tokenizer.json`.
    private mutating func apply(_ json: TokenizerJSON, from url: URL) throws {
        if let n = json.normalizer {
            guard n.type == "BertNormalizer" else {
                throw TokenizerError.malformedFile(path: url.path,
                    reason: "unsupported normalizer \(n.type ?? "without a type"); only BertNormalizer is supported")
            }
            normalizer.cleanText = n.cleanText ?? true
            normalizer.handleChineseChars = n.handleChineseChars ?? true
            normalizer.lowercase = n.lowercase ?? true
            normalizer.stripAccents = n.stripAccents
        }
        if let model = json.model {
            if let type = model.type, type != "WordPiece" {
                throw TokenizerError.malformedFile(path: url.path, reason: "unsupported model \(type); only WordPiece is supported")
            }
            if let prefix = model.continuingSubwordPrefix, prefix != "##" {
                throw TokenizerError.malformedFile(path: url.path,
                    reason: "unsupported continuing_subword_prefix \(prefix); only ## is supported")
            }
            if let unk = model.unkToken { unkToken = unk }
            if let m = model.maxInputCharsPerWord { maxInputCharsPerWord = m }
        }
        for token in json.addedTokens ?? [] {
            guard !token.content.isEmpty else {
                throw TokenizerError.malformedFile(path: url.path, reason: "an added token has no \"content\"")
            }
            addedTokens.append(token.content)
        }
        storedTruncationMaxLength = json.truncation?.maxLength
    }

    /// Takes the slow tokenizer's settings from `tokenizer_config.json`; its normalizer options
    /// only when `tokenizer.json` did not give a normalizer (that one wins, as in transformers).
    private mutating func apply(_ config: TokenizerConfigJSON, normalizerAlreadySet: Bool) {
        if !normalizerAlreadySet {
            normalizer.lowercase = config.doLowerCase ?? true
            normalizer.handleChineseChars = config.tokenizeChineseChars ?? true
            if let s = config.stripAccents { normalizer.stripAccents = s }
        }
        if let m = config.modelMaxLength, let n = Int(exactly: m) { modelMaxLength = n }
        if let name = config.tokenizerClass { returnsTokenTypeIds = tokenizerClassReturnsTokenTypeIds(name) }
        if let t = config.unkToken { unkToken = t.content }
        if let t = config.clsToken { clsToken = t.content }
        if let t = config.sepToken { sepToken = t.content }
        if let t = config.padToken { padToken = t.content }
        if let t = config.maskToken { maskToken = t.content }
    }

    private static func vocabulary(_ vocab: [(String, Int)], _ url: URL) throws -> Vocabulary {
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, id) in vocab {
            guard id >= 0, id < vocab.count else {
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
