import Foundation
import Support

/// `tokenizer.json` read generically into a `TokenizerPipeline`: every component type this
/// module implements, and a typed error naming the file for any other.
extension Tokenizers {
    typealias Component = TokenizerJSON.Component

    static func pipeline(_ json: JSONValue, config: TokenizerConfigJSON?, url: URL) throws -> TokenizerPipeline {
        let decoded = try decodeTokenizerFile(TokenizerJSON.self, from: json, url: url)
        func unsupported(_ what: String) -> TokenizerError {
            TokenizerError.malformedFile(path: url.path, reason: "unsupported \(what)")
        }
        guard let model = decoded.model else { throw TokenizerError.malformedFile(path: url.path, reason: "model is missing") }

        // The model, and every token name it knows (for special tokens and padding).
        var names: [String: Int32] = [:]
        let tokenModel: TokenModel
        switch model.type {
        case "WordPiece"?, nil:
            let entries = try vocabularyEntries(json, url: url) ?? []
            let vocabulary = try scalarVocabulary(entries, url: url)
            let unk = model.unkToken ?? "[UNK]"
            guard let unkId = vocabulary[unk] else { throw TokenizerError.missingSpecialToken(token: unk, path: url.path) }
            tokenModel = .wordPiece(WordPieceModel(vocabulary: vocabulary, unkId: unkId,
                                                   prefix: (model.continuingSubwordPrefix ?? "##").unicodeScalars.map(\.value),
                                                   maxInputCharsPerWord: model.maxInputCharsPerWord ?? 100))
            for (token, id) in entries where names[token] == nil { names[token] = Int32(id) }
        case "BPE"?:
            if let d = model.dropout, d > 0 { throw unsupported("BPE dropout \(d) (it samples; no two runs agree)") }
            let entries = try vocabularyEntries(json, url: url) ?? []
            let vocabulary = try scalarVocabulary(entries, url: url)
            let prefix = (model.continuingSubwordPrefix ?? "").unicodeScalars.map(\.value)
            let bpe = try BPE(merges: (model.merges ?? []).map { ($0.left, $0.right) }, vocabulary: vocabulary,
                              prefixLength: prefix.count, file: url.path)
            var unkId: Int32? = nil
            if let unk = model.unkToken {
                guard let id = vocabulary[unk] else { throw TokenizerError.missingSpecialToken(token: unk, path: url.path) }
                unkId = id
            }
            var m = BPEModel(vocabulary: vocabulary, bpe: bpe, unkId: unkId)
            m.fuseUnk = model.fuseUnk ?? false
            m.byteIds = model.byteFallback == true ? vocabulary.byteTokenIds : nil
            m.prefix = prefix
            m.suffix = (model.endOfWordSuffix ?? "").unicodeScalars.map(\.value)
            m.ignoreMerges = model.ignoreMerges ?? false
            tokenModel = .bpe(m)
            for (token, id) in entries where names[token] == nil { names[token] = Int32(id) }
        case "Unigram"?:
            let pieces = try unigramPieces(json, url: url)
            let unkId = model.unkId ?? 0
            guard unkId >= 0, unkId < pieces.count else {
                throw TokenizerError.malformedFile(path: url.path, reason: "model.unk_id \(unkId) is outside the vocabulary")
            }
            var m = UnigramModel(unigram: Unigram(pieces: pieces, unkId: Int32(unkId)), size: pieces.count)
            if model.byteFallback == true { m.byteIds = ScalarVocabulary(pieces.enumerated().map { ($1.0, Int32($0)) }).byteTokenIds }
            tokenModel = .unigram(m)
            for (k, p) in pieces.enumerated() where names[p.0] == nil { names[p.0] = Int32(k) }
        case let other?:
            throw unsupported("model \(other) (WordPiece, BPE and Unigram are supported)")
        }

        var p = TokenizerPipeline(model: tokenModel, template: .plain, padId: 0, vocabularyPath: url.path)
        if let n = decoded.normalizer { p.normalizers = try normalizers(n, url: url) }
        if let t = decoded.preTokenizer { p.preTokenizers = try preTokenizers(t, url: url) }
        try applyPostProcessor(decoded.postProcessor, to: &p, url: url)

        for token in decoded.addedTokens ?? [] {
            guard !token.content.isEmpty else {
                throw TokenizerError.malformedFile(path: url.path, reason: "an added token has no \"content\"")
            }
            guard let id = token.id.map(Int32.init) ?? names[token.content] else { continue }
            if names[token.content] == nil { names[token.content] = id }
            // `normalized` defaults to "not special", as in tokenizers.
            p.add(AddedTokens.Token(scalars: token.content.unicodeScalars.map(\.value), id: id,
                                    lstrip: token.lstrip ?? false, rstrip: token.rstrip ?? false,
                                    singleWord: token.singleWord ?? false),
                  normalized: token.normalized ?? !(token.special ?? false))
        }
        p.padId = config?.padToken.flatMap { names[$0.content] } ?? names["[PAD]"] ?? names["<pad>"] ?? 0
        return p
    }

    /// `model.vocab` as an object `{token: id}`, in file order (nil when there is none).
    static func vocabularyEntries(_ json: JSONValue, url: URL) throws -> [(String, Int)]? {
        guard let vocab = json["model"]?["vocab"] else { return nil }
        guard case .object(let members) = vocab else {
            throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab is not an object of token ids")
        }
        return try members.map { member in
            guard case .int(let id) = member.value, id >= 0, id < Int(Int32.max) else {
                throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab id of \"\(member.key)\" is not an integer in range")
            }
            return (member.key, id)
        }
    }

    /// Unigram's `model.vocab`: `[[piece, score], …]`.
    static func unigramPieces(_ json: JSONValue, url: URL) throws -> [(String, Double)] {
        guard case .array(let items)? = json["model"]?["vocab"], !items.isEmpty else {
            throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab is not a non-empty list of [piece, score]")
        }
        return try items.map { item in
            guard case .array(let pair) = item, pair.count == 2, case .string(let piece) = pair[0], let score = pair[1].number else {
                throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab holds an entry that is not [piece, score]")
            }
            return (piece, score)
        }
    }

    static func scalarVocabulary(_ entries: [(String, Int)], url: URL) throws -> ScalarVocabulary {
        guard !entries.isEmpty else { throw TokenizerError.malformedFile(path: url.path, reason: "the vocabulary is empty") }
        return ScalarVocabulary(entries.map { ($0.0, Int32($0.1)) })
    }

    static func normalizers(_ c: Component, url: URL) throws -> [Normalizer] {
        func unsupported(_ what: String) -> TokenizerError {
            TokenizerError.malformedFile(path: url.path, reason: "unsupported normalizer \(what)")
        }
        switch c.type ?? "" {
        case "Sequence": return try (c.normalizers ?? []).flatMap { try normalizers($0, url: url) }
        case "BertNormalizer":
            return [.bert(BertNormalizerOptions(cleanText: c.cleanText ?? true, handleChineseChars: c.handleChineseChars ?? true,
                                                stripAccents: c.stripAccents, lowercase: c.lowercase ?? true))]
        case "Lowercase": return [.lowercase]
        case "StripAccents": return [.stripAccents]
        case "NFC": return [.unicode(.nfc)]
        case "NFD": return [.unicode(.nfd)]
        case "NFKC": return [.unicode(.nfkc)]
        case "NFKD": return [.unicode(.nfkd)]
        case "Strip": return [.strip(left: c.stripLeft ?? true, right: c.stripRight ?? true)]
        case "Prepend": return [.prepend((c.prepend ?? "").unicodeScalars.map(\.value))]
        case "Replace":
            let pattern = try TextPattern.parse(string: c.pattern?.string, regex: c.pattern?.regex, file: url.path)
            return [.replace(pattern: pattern, content: (c.content ?? "").unicodeScalars.map(\.value))]
        case "Precompiled":
            guard let text = c.precompiledCharsmap else { return [] }  // no rules: nothing to do
            guard let data = Data(base64Encoded: text) else {
                throw TokenizerError.malformedFile(path: url.path, reason: "precompiled_charsmap is not base64")
            }
            return data.isEmpty ? [] : [.precompiled(try Precompiled([UInt8](data), file: url.path))]
        case let other: throw unsupported(other.isEmpty ? "without a type" : other)
        }
    }

    static func preTokenizers(_ c: Component, url: URL) throws -> [PreTokenizer] {
        func unsupported(_ what: String) -> TokenizerError {
            TokenizerError.malformedFile(path: url.path, reason: "unsupported pre-tokenizer \(what)")
        }
        func behavior(_ name: String?, _ fallback: SplitBehavior) throws -> SplitBehavior {
            guard let name else { return fallback }
            guard let b = SplitBehavior(rawValue: name) else { throw unsupported("split behavior \(name)") }
            return b
        }
        switch c.type ?? "" {
        case "Sequence": return try (c.pretokenizers ?? []).flatMap { try preTokenizers($0, url: url) }
        case "BertPreTokenizer": return [.bert]
        case "Whitespace": return [.whitespace]
        case "WhitespaceSplit": return [.whitespaceSplit]
        case "Punctuation": return [.punctuation(try behavior(c.behavior, .isolated))]
        case "Digits": return [.digits(individual: c.individualDigits ?? false)]
        case "Split":
            let pattern = try TextPattern.parse(string: c.pattern?.string, regex: c.pattern?.regex, file: url.path)
            return [.split(pattern, try behavior(c.behavior, .removed), invert: c.invert ?? false)]
        case "ByteLevel": return [.byteLevel(addPrefixSpace: c.addPrefixSpace ?? true, useRegex: c.useRegex ?? true)]
        case "Metaspace":
            guard let replacement = (c.replacement ?? "▁").unicodeScalars.first?.value else {
                throw TokenizerError.malformedFile(path: url.path, reason: "Metaspace's replacement is empty")
            }
            let scheme: PrependScheme
            if let name = c.prependScheme {
                guard let s = PrependScheme(rawValue: name) else { throw unsupported("Metaspace prepend_scheme \(name)") }
                scheme = s
            } else {
                scheme = c.addPrefixSpace == false ? .never : .always
            }
            return [.metaspace(replacement: replacement, prepend: scheme, split: c.split ?? true)]
        case let other: throw unsupported(other.isEmpty ? "without a type" : other)
        }
    }

    /// The post-processor's template (which special tokens go where, with which type ids) and
    /// its offset trimming; none at all leaves the sequences as they are, B of type 1.
    static func applyPostProcessor(_ c: Component?, to p: inout TokenizerPipeline, url: URL) throws {
        guard let c else { return }
        switch c.type ?? "" {
        case "Sequence": for part in c.processors ?? [] { try applyPostProcessor(part, to: &p, url: url) }
        case "BertProcessing":
            guard let cls = c.cls, let sep = c.sep else {
                throw TokenizerError.malformedFile(path: url.path, reason: "BertProcessing needs cls and sep")
            }
            p.template = .bert(cls: Int32(cls.id), sep: Int32(sep.id))
        case "RobertaProcessing":
            guard let cls = c.cls, let sep = c.sep else {
                throw TokenizerError.malformedFile(path: url.path, reason: "RobertaProcessing needs cls and sep")
            }
            p.template = .roberta(cls: Int32(cls.id), sep: Int32(sep.id))
            p.trimOffsets = c.trimOffsets ?? true
            p.trimAddPrefixSpace = c.addPrefixSpace ?? true
        case "ByteLevel":
            p.trimOffsets = c.trimOffsets ?? true
            p.trimAddPrefixSpace = c.addPrefixSpace ?? true
        case "TemplateProcessing":
            guard let single = c.single, let pair = c.pair else {
                throw TokenizerError.malformedFile(path: url.path, reason: "TemplateProcessing needs single and pair")
            }
            func pieces(_ list: [TokenizerJSON.TemplatePiece]) throws -> [SpecialTokensTemplate.Piece] {
                try list.map { piece in
                    if let s = piece.specialToken {
                        guard let ids = c.specialTokens?[s.id]?.ids, ids.count == 1 else {
                            throw TokenizerError.malformedFile(path: url.path, reason: "template special token \(s.id) has no single id")
                        }
                        return .special(id: Int32(ids[0]), typeId: Int32(s.typeId))
                    }
                    guard let seq = piece.sequence, seq.id == "A" || seq.id == "B" else {
                        throw TokenizerError.malformedFile(path: url.path, reason: "a template piece is neither SpecialToken nor Sequence A/B")
                    }
                    return .sequence(seq.id == "A" ? 0 : 1, typeId: Int32(seq.typeId))
                }
            }
            p.template = SpecialTokensTemplate(single: try pieces(single), pair: try pieces(pair))
            p.template.overflowKeepsSequenceTypeIds = p.template.pair.contains {
                if case .sequence(let n, let type) = $0 { return Int32(n) != type } else { return false }
            }
        case let other:
            throw TokenizerError.malformedFile(path: url.path, reason: "unsupported post-processor \(other.isEmpty ? "without a type" : other)")
        }
    }

    /// The specialised tokenizer for a pipeline of its family's shape (same results, faster),
    /// or the general one.
    static func specialised(_ p: TokenizerPipeline, directory: URL) throws -> any QATokenizer {
        let plainAdded = p.normalizedAddedTokens.isEmpty && !p.addedTokens.contains { $0.singleWord }
        let singleWords = (p.addedTokens + p.normalizedAddedTokens).contains { $0.singleWord }
        switch p.model {
        case .bpe(let m):
            // RoBERTa's shape; the first-token rule of trim_offsets only agrees without prefix spaces.
            if plainAdded, p.normalizers.isEmpty, p.preTokenizers.count == 1,
               case .byteLevel(false, let useRegex) = p.preTokenizers[0], m.prefix.isEmpty, m.suffix.isEmpty, m.byteIds == nil, !m.ignoreMerges, !m.fuseUnk, !p.trimAddPrefixSpace {
                var settings = ByteLevelBPETokenizer.Settings()
                settings.addPrefixSpace = false
                settings.useRegex = useRegex
                settings.trimOffsets = p.trimOffsets
                return ByteLevelBPETokenizer(model: m, addedTokens: AddedTokens(p.addedTokens), settings: settings,
                                             template: p.template, padId: p.padId, vocabularyPath: p.vocabularyPath,
                                             returnsTokenTypeIds: p.returnsTokenTypeIds)
            }
        case .unigram(let m):
            if !singleWords, m.byteIds == nil, !p.trimOffsets,
               p.preTokenizers.count == 1, case .metaspace(let replacement, let scheme, let split) = p.preTokenizers[0] {
                return SentencePieceTokenizer(normalizers: p.normalizers, unigram: m.unigram, addedTokens: AddedTokens(p.addedTokens),
                                              normalizedAddedTokens: AddedTokens(p.normalizedAddedTokens),
                                              replacement: replacement, prependScheme: scheme, split: split, template: p.template,
                                              padId: p.padId, vocabularySize: p.vocabularySize, vocabularyPath: p.vocabularyPath,
                                              returnsTokenTypeIds: p.returnsTokenTypeIds)
            }
        case .wordPiece(let m):
            if plainAdded, !p.addedTokens.contains(where: { $0.lstrip || $0.rstrip }), !p.trimOffsets,
               p.normalizers.count == 1, case .bert = p.normalizers[0], p.preTokenizers.count == 1,
               case .bert = p.preTokenizers[0], m.prefix == [0x23, 0x23] {
                let bert = try BertTokenizer(directory: directory)
                if bert.template == p.template, bert.returnsTokenTypeIds == p.returnsTokenTypeIds { return bert }
            }
        }
        return PipelineTokenizer(p)
    }
}

extension SpecialTokensTemplate {
    /// No special tokens: A, or A then B with type id 1 (no post-processor).
    static let plain = SpecialTokensTemplate(single: [.sequence(0, typeId: 0)],
                                             pair: [.sequence(0, typeId: 0), .sequence(1, typeId: 1)])
}
