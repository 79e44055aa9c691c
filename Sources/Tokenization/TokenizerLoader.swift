import Foundation

/// The tokenizer of a model folder, whichever family its files describe, as transformers'
/// `AutoTokenizer` picks it: `tokenizer.json` when present (it wins, as in transformers),
/// else the slow files (`vocab.txt` for WordPiece, `vocab.json` + `merges.txt` for byte-level
/// BPE, `spm.model` (DeBERTa-v2/v3) and `sentencepiece.bpe.model` (XLM-R) for SentencePiece) with
/// `tokenizer_config.json`.
public enum Tokenizers {
    public static func load(directory: URL) throws -> any QATokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw TokenizerError.fileNotFound(path: directory.path)
        }
        guard isDirectory.boolValue else { throw TokenizerError.unreadableFile(path: directory.path, reason: "not a directory") }
        let file = { (name: String) in directory.appendingPathComponent(name) }
        let exists = { (name: String) in FileManager.default.fileExists(atPath: file(name).path) }
        let config = exists("tokenizer_config.json")
            ? try decodeTokenizerFile(TokenizerConfigJSON.self, from: file("tokenizer_config.json")) : nil

        if exists("tokenizer.json") {
            let url = file("tokenizer.json")
            // Parsed once; the model's type says which family's shape to read it as.
            let json = try readTokenizerFile(url)
            struct ModelType: Decodable { struct Model: Decodable { var type: String? }; var model: Model? }
            switch try decodeTokenizerFile(ModelType.self, from: json, url: url).model?.type {
            case "BPE": return try byteLevelBPE(decodeTokenizerFile(TokenizerJSON.self, from: json, url: url), config: config, url: url)
            case "Unigram":
                return try sentencePieceUnigram(decodeTokenizerFile(UnigramTokenizerJSON.self, from: json, url: url),
                                                config: config, url: url)
            case nil, "WordPiece": return try BertTokenizer(directory: directory)
            case let other?:
                throw TokenizerError.malformedFile(path: url.path,
                    reason: "unsupported model \(other) (supported: WordPiece, BPE, Unigram)")
            }
        }
        if exists("spm.model") {
            return try sentencePiece(model: file("spm.model"), family: .debertaV2, config: config)
        }
        if exists("sentencepiece.bpe.model") {
            return try sentencePiece(model: file("sentencepiece.bpe.model"), family: .xlmRoberta, config: config)
        }
        if exists("vocab.json") && exists("merges.txt") {
            return try byteLevelBPE(vocabulary: file("vocab.json"), merges: file("merges.txt"), config: config)
        }
        return try BertTokenizer(directory: directory)
    }

    /// A byte-level BPE tokenizer from `tokenizer.json`; any component it does not implement
    /// is named, never replaced by a guess.
    static func byteLevelBPE(_ json: TokenizerJSON, config: TokenizerConfigJSON?, url: URL) throws -> ByteLevelBPETokenizer {
        func unsupported(_ what: String) -> TokenizerError {
            TokenizerError.malformedFile(path: url.path, reason: "unsupported \(what) for a BPE model")
        }
        guard let model = json.model, let vocab = json.model?.vocab else {
            throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab is missing")
        }
        if let n = json.normalizer { throw unsupported("normalizer \(n.type ?? "without a type")") }
        if model.byteFallback == true { throw unsupported("byte_fallback") }
        if let d = model.dropout, d > 0 { throw unsupported("BPE dropout") }
        if let p = model.continuingSubwordPrefix, !p.isEmpty { throw unsupported("continuing_subword_prefix") }
        if let s = model.endOfWordSuffix, !s.isEmpty { throw unsupported("end_of_word_suffix") }
        guard let pre = json.preTokenizer, pre.type == "ByteLevel" else {
            throw unsupported("pre-tokenizer \(json.preTokenizer?.type ?? "(none)") (ByteLevel is)")
        }
        var settings = ByteLevelBPETokenizer.Settings()
        settings.addPrefixSpace = pre.addPrefixSpace ?? false
        settings.useRegex = pre.useRegex ?? true
        let vocabulary = try ids(vocab, url)
        let bpe = try BPE(vocabulary: vocabulary, merges: (model.merges ?? []).map { ($0.left, $0.right) },
                          unkToken: model.unkToken, file: url.path)
        var added: [AddedTokens.Token] = []
        for token in json.addedTokens ?? [] {
            guard !token.content.isEmpty else {
                throw TokenizerError.malformedFile(path: url.path, reason: "an added token has no \"content\"")
            }
            if token.normalized == true && token.special != true { throw unsupported("normalized added token \"\(token.content)\"") }
            if token.singleWord == true { throw unsupported("single_word added token \"\(token.content)\"") }
            guard let id = token.id.map(Int32.init) ?? vocabulary[token.content] else { continue }
            added.append(AddedTokens.Token(scalars: token.content.unicodeScalars.map(\.value), id: id,
                                           lstrip: token.lstrip ?? false, rstrip: token.rstrip ?? false))
        }
        let template: SpecialTokensTemplate
        switch json.postProcessor?.type {
        case "RobertaProcessing":
            guard let post = json.postProcessor, let cls = post.cls, let sep = post.sep else {
                throw TokenizerError.malformedFile(path: url.path, reason: "RobertaProcessing needs cls and sep")
            }
            template = .roberta(cls: Int32(cls.id), sep: Int32(sep.id))
            settings.trimOffsets = post.trimOffsets ?? true
        case let other:
            throw unsupported("post-processor \(other ?? "(none)") (RobertaProcessing is)")
        }
        let padName = config?.padToken?.content ?? "<pad>"
        return ByteLevelBPETokenizer(bpe: bpe, addedTokens: AddedTokens(added), settings: settings, template: template,
                                     padId: vocabulary[padName] ?? 1, vocabularyPath: url.path)
    }

    /// The same tokenizer from the slow files, as transformers' `RobertaTokenizerFast` converts
    /// them: `vocab.json` + `merges.txt`, `<s> A </s></s> B </s>`, settings and special tokens
    /// from `tokenizer_config.json`.
    static func byteLevelBPE(vocabulary vocabURL: URL, merges mergesURL: URL, config: TokenizerConfigJSON?) throws -> ByteLevelBPETokenizer {
        let vocab = try decodeTokenizerFile([String: Int].self, from: vocabURL)
        let vocabulary = try ids(vocab, vocabURL)
        let bpe = try BPE(vocabulary: vocabulary, merges: try mergesFile(mergesURL),
                          unkToken: config?.unkToken?.content ?? "<unk>", file: mergesURL.path)
        func id(_ name: String) throws -> Int32 {
            guard let id = vocabulary[name] else { throw TokenizerError.missingSpecialToken(token: name, path: vocabURL.path) }
            return id
        }
        let cls = try id(config?.clsToken?.content ?? config?.bosToken?.content ?? "<s>")
        let sep = try id(config?.sepToken?.content ?? config?.eosToken?.content ?? "</s>")
        var added: [AddedTokens.Token] = []
        let names = [config?.bosToken, config?.eosToken, config?.unkToken, config?.sepToken, config?.padToken,
                     config?.clsToken, config?.maskToken].compactMap { $0?.content }
        for name in Set(names) {
            guard let tokenId = vocabulary[name] else { continue }
            // RoBERTa's mask token takes the space before it (lstrip), as RobertaTokenizer sets it.
            added.append(AddedTokens.Token(scalars: name.unicodeScalars.map(\.value), id: tokenId,
                                           lstrip: name == config?.maskToken?.content))
        }
        var settings = ByteLevelBPETokenizer.Settings()
        settings.addPrefixSpace = config?.addPrefixSpace ?? false
        settings.trimOffsets = config?.trimOffsets ?? true
        return ByteLevelBPETokenizer(bpe: bpe, addedTokens: AddedTokens(added), settings: settings,
                                     template: .roberta(cls: cls, sep: sep),
                                     padId: vocabulary[config?.padToken?.content ?? "<pad>"] ?? 1,
                                     vocabularyPath: vocabURL.path)
    }

    /// `merges.txt`: an optional `#version` line, then "left right" per line in rank order.
    static func mergesFile(_ url: URL) throws -> [(String, String)] {
        let data = try readFile(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.malformedFile(path: url.path, reason: "not UTF-8 text")
        }
        var merges: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformedFile(path: url.path, reason: "line \(n + 1) is not \"left right\"")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    private static func ids(_ vocab: [String: Int], _ url: URL) throws -> [String: Int32] {
        guard !vocab.isEmpty else { throw TokenizerError.malformedFile(path: url.path, reason: "the vocabulary is empty") }
        var out: [String: Int32] = [:]
        out.reserveCapacity(vocab.count)
        for (token, id) in vocab {
            guard id >= 0, id < Int(Int32.max) else {
                throw TokenizerError.malformedFile(path: url.path, reason: "the id of \"\(token)\" is out of range (\(id))")
            }
            out[token] = Int32(id)
        }
        return out
    }
}
