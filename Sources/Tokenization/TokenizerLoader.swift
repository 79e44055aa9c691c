import Foundation

/// The tokenizer of a model folder, whichever family its files describe, as transformers'
/// `AutoTokenizer` picks it: `tokenizer.json` when present (it wins, as in transformers),
/// else the slow files (`spm.model` (DeBERTa-v2/v3), `spiece.model` (ALBERT) and
/// `sentencepiece.bpe.model` (XLM-R) for SentencePiece, `vocab.json` + `merges.txt` for
/// byte-level BPE, `vocab.txt` for WordPiece) with `tokenizer_config.json`, converted as
/// transformers' converters do.
public enum Tokenizers {
    public static func load(directory: URL) throws -> any QATokenizer {
        try load(directory: directory, general: false)
    }

    /// `general`: the general pipeline (`PipelineTokenizer`) even where a specialised tokenizer
    /// of the same results exists — what the tests and `bench tokenize --general` compare.
    /// (A `vocab.txt`-only folder always gets `BertTokenizer`.)
    public static func load(directory: URL, general: Bool) throws -> any QATokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw TokenizerError.fileNotFound(path: directory.path)
        }
        guard isDirectory.boolValue else { throw TokenizerError.unreadableFile(path: directory.path, reason: "not a directory") }
        let file = { (name: String) in directory.appendingPathComponent(name) }
        let exists = { (name: String) in FileManager.default.fileExists(atPath: file(name).path) }
        let config = exists("tokenizer_config.json")
            ? try decodeTokenizerFile(TokenizerConfigJSON.self, from: file("tokenizer_config.json")) : nil

        var pipeline: TokenizerPipeline
        // Without tokenizer_config.json's class, the slow RoBERTa and XLM-R files mean those
        // classes; tokenizer.json alone means PreTrainedTokenizerFast, which returns type ids.
        var familyReturnsTypeIds = true
        if exists("tokenizer.json") {
            let url = file("tokenizer.json")
            pipeline = try Self.pipeline(readTokenizerFile(url), config: config, url: url)
        } else if exists("spm.model") {
            pipeline = try sentencePiece(model: file("spm.model"), family: .debertaV2, config: config)
        } else if exists("spiece.model") {
            pipeline = try sentencePiece(model: file("spiece.model"), family: .albert, config: config)
        } else if exists("sentencepiece.bpe.model") {
            pipeline = try sentencePiece(model: file("sentencepiece.bpe.model"), family: .xlmRoberta, config: config)
            familyReturnsTypeIds = false
        } else if exists("vocab.json") && exists("merges.txt") {
            pipeline = try byteLevelBPE(vocabulary: file("vocab.json"), merges: file("merges.txt"), config: config)
            familyReturnsTypeIds = false
        } else {
            return try BertTokenizer(directory: directory)
        }
        pipeline.returnsTokenTypeIds = config?.tokenizerClass.map(tokenizerClassReturnsTokenTypeIds) ?? familyReturnsTypeIds
        return general ? PipelineTokenizer(pipeline) : try specialised(pipeline, directory: directory)
    }

    /// The pipeline transformers' `RobertaConverter` builds from the slow files: `vocab.json` +
    /// `merges.txt`, ByteLevel, `<s> A </s></s> B </s>`, settings and special tokens from
    /// `tokenizer_config.json`.
    static func byteLevelBPE(vocabulary vocabURL: URL, merges mergesURL: URL, config: TokenizerConfigJSON?) throws -> TokenizerPipeline {
        let json = try readTokenizerFile(vocabURL)
        guard case .object(let members) = json else {
            throw TokenizerError.malformedFile(path: vocabURL.path, reason: "not an object of token ids")
        }
        var entries: [(String, Int32)] = []
        var names: [String: Int32] = [:]
        for member in members {
            guard case .int(let id) = member.value, id >= 0, id < Int(Int32.max) else {
                throw TokenizerError.malformedFile(path: vocabURL.path, reason: "the id of \"\(member.key)\" is not an integer in range")
            }
            entries.append((member.key, Int32(id)))
            if names[member.key] == nil { names[member.key] = Int32(id) }
        }
        guard !entries.isEmpty else { throw TokenizerError.malformedFile(path: vocabURL.path, reason: "the vocabulary is empty") }
        let vocabulary = ScalarVocabulary(entries)
        let bpe = try BPE(merges: try mergesFile(mergesURL), vocabulary: vocabulary, file: mergesURL.path)
        func id(_ name: String) throws -> Int32 {
            guard let id = names[name] else { throw TokenizerError.missingSpecialToken(token: name, path: vocabURL.path) }
            return id
        }
        let cls = try id(config?.clsToken?.content ?? config?.bosToken?.content ?? "<s>")
        let sep = try id(config?.sepToken?.content ?? config?.eosToken?.content ?? "</s>")
        let addPrefixSpace = config?.addPrefixSpace ?? false
        var p = TokenizerPipeline(
            preTokenizers: [.byteLevel(addPrefixSpace: addPrefixSpace, useRegex: true)],
            model: .bpe(BPEModel(vocabulary: vocabulary, bpe: bpe, unkId: names[config?.unkToken?.content ?? "<unk>"])),
            template: .roberta(cls: cls, sep: sep), padId: names[config?.padToken?.content ?? "<pad>"] ?? 1,
            vocabularyPath: vocabURL.path)
        p.trimOffsets = config?.trimOffsets ?? true
        p.trimAddPrefixSpace = addPrefixSpace
        // RoBERTa's mask token takes the space before it (lstrip), as RobertaTokenizer sets it.
        try addSlowAddedTokens(to: &p, config: config, names: names, lstripMask: true)
        return p
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
}
