import Foundation
import Support

/// `tokenizer.json` of the SentencePiece Unigram family, as transformers' converters write it
/// (`DebertaV2TokenizerFast`, `XLMRobertaTokenizerFast`, `AlbertTokenizerFast`).
struct UnigramTokenizerJSON: Decodable {
    var normalizer: Component?
    var preTokenizer: Component?
    var postProcessor: Component?
    var model: Model
    var addedTokens: [TokenizerJSON.AddedToken]?

    enum CodingKeys: String, CodingKey {
        case normalizer, model
        case preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor"
        case addedTokens = "added_tokens"
    }

    struct Model: Decodable {
        var type: String?
        var vocab: [Piece]
        var unkId: Int?
        var byteFallback: Bool?
        enum CodingKeys: String, CodingKey {
            case type, vocab
            case unkId = "unk_id"
            case byteFallback = "byte_fallback"
        }
    }

    /// ["piece", score]
    struct Piece: Decodable {
        var piece: String
        var score: Double
        init(from decoder: any Decoder) throws {
            var list = try decoder.unkeyedContainer()
            piece = try list.decode(String.self)
            score = try list.decode(Double.self)
        }
    }

    /// Any normalizer, pre-tokenizer or post-processor: its type and the fields of those this
    /// family uses; `Sequence` nests.
    struct Component: Decodable {
        var type: String
        var normalizers: [Component]?
        var pretokenizers: [Component]?
        // Strip
        var stripLeft: Bool?
        var stripRight: Bool?
        // Precompiled
        var precompiledCharsmap: String?
        // Replace
        var pattern: Pattern?
        var content: String?
        // Metaspace
        var replacement: String?
        var prependScheme: String?
        var addPrefixSpace: Bool?
        var split: Bool?
        // TemplateProcessing
        var single: [TemplatePiece]?
        var pair: [TemplatePiece]?
        var specialTokens: [String: SpecialToken]?

        enum CodingKeys: String, CodingKey {
            case type, normalizers, pretokenizers, pattern, content, replacement, split, single, pair
            case stripLeft = "strip_left"
            case stripRight = "strip_right"
            case precompiledCharsmap = "precompiled_charsmap"
            case prependScheme = "prepend_scheme"
            case addPrefixSpace = "add_prefix_space"
            case specialTokens = "special_tokens"
        }
    }

    struct Pattern: Decodable {
        var string: String?
        var regex: String?
        enum CodingKeys: String, CodingKey { case string = "String", regex = "Regex" }
    }

    struct TemplatePiece: Decodable {
        struct Part: Decodable {
            var id: String
            var typeId: Int
            enum CodingKeys: String, CodingKey { case id, typeId = "type_id" }
        }
        var specialToken: Part?
        var sequence: Part?
        enum CodingKeys: String, CodingKey { case specialToken = "SpecialToken", sequence = "Sequence" }
    }

    struct SpecialToken: Decodable {
        var ids: [Int]
    }
}

extension Tokenizers {
    /// A SentencePiece Unigram tokenizer from `tokenizer.json`; a component it does not
    /// implement is named, never replaced by a guess.
    static func sentencePieceUnigram(_ json: UnigramTokenizerJSON, config: TokenizerConfigJSON?, url: URL) throws -> SentencePieceTokenizer {
        func unsupported(_ what: String) -> TokenizerError {
            TokenizerError.malformedFile(path: url.path, reason: "unsupported \(what) for a Unigram model")
        }
        if json.model.byteFallback == true { throw unsupported("byte_fallback") }
        guard !json.model.vocab.isEmpty else { throw TokenizerError.malformedFile(path: url.path, reason: "model.vocab is empty") }
        let unkId = json.model.unkId ?? 0
        guard unkId >= 0, unkId < json.model.vocab.count else {
            throw TokenizerError.malformedFile(path: url.path, reason: "model.unk_id \(unkId) is outside the vocabulary")
        }

        var steps: [SentencePieceTokenizer.NormalizerStep] = []
        func addNormalizer(_ c: UnigramTokenizerJSON.Component) throws {
            switch c.type {
            case "Sequence": for n in c.normalizers ?? [] { try addNormalizer(n) }
            case "Strip": steps.append(.strip(left: c.stripLeft ?? true, right: c.stripRight ?? true))
            case "Precompiled":
                guard let text = c.precompiledCharsmap, let data = Data(base64Encoded: text) else {
                    throw TokenizerError.malformedFile(path: url.path, reason: "precompiled_charsmap is not base64")
                }
                steps.append(.precompiled(try Precompiled([UInt8](data), file: url.path)))
            case "Replace":
                let content = (c.content ?? "").unicodeScalars.map(\.value)
                if let literal = c.pattern?.string {
                    steps.append(.replace(pattern: .literal(literal.unicodeScalars.map(\.value)), content: content))
                } else if let regex = c.pattern?.regex, let run = repeatedCharacter(regex) {
                    steps.append(.replace(pattern: .run(run.0, atLeast: run.1), content: content))
                } else {
                    throw unsupported("Replace pattern \(c.pattern?.regex ?? "(none)")")
                }
            case "NFKD": steps.append(.nfkd)
            case "StripAccents": steps.append(.stripAccents)
            case "Lowercase": steps.append(.lowercase)
            default: throw unsupported("normalizer \(c.type)")
            }
        }
        if let n = json.normalizer { try addNormalizer(n) }

        var metaspace: UnigramTokenizerJSON.Component?
        func findMetaspace(_ c: UnigramTokenizerJSON.Component) throws {
            switch c.type {
            case "Sequence": for p in c.pretokenizers ?? [] { try findMetaspace(p) }
            case "Metaspace": metaspace = c
            default: throw unsupported("pre-tokenizer \(c.type) (Metaspace is)")
            }
        }
        if let p = json.preTokenizer { try findMetaspace(p) }
        guard let meta = metaspace, let replacement = meta.replacement?.unicodeScalars.first?.value else {
            throw unsupported("pre-tokenizer \(json.preTokenizer?.type ?? "(none)") (Metaspace is)")
        }
        let scheme: SentencePieceTokenizer.PrependScheme
        if let name = meta.prependScheme {
            guard let s = SentencePieceTokenizer.PrependScheme(rawValue: name) else { throw unsupported("prepend_scheme \(name)") }
            scheme = s
        } else {
            scheme = meta.addPrefixSpace == false ? .never : .always
        }

        // Names of special tokens only (ASCII in practice), so String keys are safe here.
        var vocabulary: [String: Int32] = [:]
        for (k, p) in json.model.vocab.enumerated() where vocabulary[p.piece] == nil { vocabulary[p.piece] = Int32(k) }
        var added: [AddedTokens.Token] = []
        for token in json.addedTokens ?? [] {
            guard !token.content.isEmpty else {
                throw TokenizerError.malformedFile(path: url.path, reason: "an added token has no \"content\"")
            }
            if token.singleWord == true { throw unsupported("single_word added token \"\(token.content)\"") }
            guard let id = token.id.map(Int32.init) ?? vocabulary[token.content] else { continue }
            added.append(AddedTokens.Token(scalars: token.content.unicodeScalars.map(\.value), id: id,
                                           lstrip: token.lstrip ?? false, rstrip: token.rstrip ?? false))
        }

        guard let post = json.postProcessor, post.type == "TemplateProcessing",
              let single = post.single, let pair = post.pair else {
            throw unsupported("post-processor \(json.postProcessor?.type ?? "(none)") (TemplateProcessing is)")
        }
        func pieces(_ list: [UnigramTokenizerJSON.TemplatePiece]) throws -> [SpecialTokensTemplate.Piece] {
            try list.map { piece in
                if let s = piece.specialToken {
                    guard let ids = post.specialTokens?[s.id]?.ids, ids.count == 1 else {
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
        let template = SpecialTokensTemplate(single: try pieces(single), pair: try pieces(pair))
        let padId = config?.padToken.flatMap { vocabulary[$0.content] } ?? vocabulary["[PAD]"] ?? vocabulary["<pad>"] ?? 0
        return SentencePieceTokenizer(
            normalizers: steps,
            unigram: Unigram(pieces: json.model.vocab.map { ($0.piece, $0.score) }, unkId: Int32(unkId)),
            addedTokens: AddedTokens(added), replacement: replacement, prependScheme: scheme, split: meta.split ?? true,
            template: template, padId: padId, vocabularySize: json.model.vocab.count, vocabularyPath: url.path)
    }

    /// `X{n,}` (one literal character, at least n times), the only regex the converters write
    /// for these normalizers (" {2,}" collapses runs of spaces).
    static func repeatedCharacter(_ regex: String) -> (UInt32, Int)? {
        let scalars = Array(regex.unicodeScalars)
        guard scalars.count >= 5, scalars[1] == "{", regex.hasSuffix(",}"),
              let n = Int(String(String.UnicodeScalarView(scalars[2..<(scalars.count - 2)]))), n >= 1,
              !"\\.[]()*+?{}|^$".unicodeScalars.contains(scalars[0]) else { return nil }
        return (scalars[0].value, n)
    }
}

extension Tokenizers {
    /// Which transformers converter a SentencePiece model file is read as.
    enum SentencePieceFamily {
        /// `spm.model`: DeBERTa-v2/v3 (`DebertaV2Converter`).
        case debertaV2
        /// `sentencepiece.bpe.model`: XLM-RoBERTa (`XLMRobertaConverter`, fairseq's ids).
        case xlmRoberta
    }

    /// A SentencePiece model file read as transformers' converter for `family` converts it.
    /// DeBERTa-v2/v3: the pieces as they are; (Lowercase when `do_lower_case`,) Strip, the
    /// model's precompiled rules, Replace(" {2,}", " "); `[CLS] A [SEP] B [SEP]`, B of type 1.
    /// XLM-R: `<s> <pad> </s> <unk>`, the pieces after the model's first three, `<mask>` last;
    /// the precompiled rules, a right Strip, Replace(" {2,}", "▁"); `<s> A </s></s> B </s>`.
    /// Both: Metaspace before every stretch of text; special tokens from `tokenizer_config.json`.
    static func sentencePiece(model url: URL, family: SentencePieceFamily, config: TokenizerConfigJSON?) throws -> SentencePieceTokenizer {
        let data = try readFile(url)
        let proto: Sentencepiece_ModelProto
        do { proto = try Sentencepiece_ModelProto(serializedBytes: data) } catch {
            throw TokenizerError.malformedFile(path: url.path, reason: "not a SentencePiece model (\(error))")
        }
        guard proto.trainerSpec.modelType == .unigram else {
            throw TokenizerError.malformedFile(path: url.path, reason: "unsupported SentencePiece model type \(proto.trainerSpec.modelType) (UNIGRAM is)")
        }
        if proto.trainerSpec.byteFallback {
            throw TokenizerError.malformedFile(path: url.path, reason: "unsupported byte_fallback for a Unigram model")
        }
        guard proto.pieces.count > 3 else { throw TokenizerError.malformedFile(path: url.path, reason: "the model has too few pieces") }
        let charsmap: Precompiled? = proto.normalizerSpec.precompiledCharsmap.isEmpty ? nil
            : try Precompiled([UInt8](proto.normalizerSpec.precompiledCharsmap), file: url.path)

        var pieces: [(String, Double)]
        var steps: [SentencePieceTokenizer.NormalizerStep] = []
        let unkId: Int
        switch family {
        case .debertaV2:
            pieces = proto.pieces.map { ($0.piece, Double($0.score)) }
            unkId = Int(proto.trainerSpec.unkID)
            if config?.doLowerCase == true { steps.append(.lowercase) }
            steps.append(.strip(left: true, right: true))
            if let charsmap { steps.append(.precompiled(charsmap)) }
            steps.append(.replace(pattern: .run(0x20, atLeast: 2), content: [0x20]))
        case .xlmRoberta:
            pieces = [("<s>", 0), ("<pad>", 0), ("</s>", 0), ("<unk>", 0)]
                + proto.pieces.dropFirst(3).map { ($0.piece, Double($0.score)) } + [("<mask>", 0)]
            unkId = 3
            if let charsmap { steps.append(.precompiled(charsmap)) }
            steps.append(.strip(left: false, right: true))
            steps.append(.replace(pattern: .run(0x20, atLeast: 2), content: [0x2581]))
        }
        guard unkId >= 0, unkId < pieces.count else {
            throw TokenizerError.malformedFile(path: url.path, reason: "unk_id \(unkId) is outside the \(pieces.count) pieces")
        }

        // Names of special tokens only (ASCII in practice), so String keys are safe here.
        var vocabulary: [String: Int32] = [:]
        for (k, p) in pieces.enumerated() where vocabulary[p.0] == nil { vocabulary[p.0] = Int32(k) }
        func id(_ name: String?, _ fallback: String) throws -> Int32 {
            let token = name ?? fallback
            guard let id = vocabulary[token] else { throw TokenizerError.missingSpecialToken(token: token, path: url.path) }
            return id
        }
        let template: SpecialTokensTemplate
        let padName: String
        switch family {
        case .debertaV2:
            template = .bert(cls: try id(config?.clsToken?.content, "[CLS]"), sep: try id(config?.sepToken?.content, "[SEP]"))
            padName = config?.padToken?.content ?? "[PAD]"
        case .xlmRoberta:
            template = .roberta(cls: try id(config?.clsToken?.content ?? config?.bosToken?.content, "<s>"),
                                sep: try id(config?.sepToken?.content ?? config?.eosToken?.content, "</s>"))
            padName = config?.padToken?.content ?? "<pad>"
        }
        let mask = config?.maskToken?.content
        let names = [config?.clsToken, config?.sepToken, config?.unkToken, config?.padToken, config?.maskToken,
                     config?.bosToken, config?.eosToken].compactMap { $0?.content }
        let added = Set(names).compactMap { name in
            // XLM-R's mask token takes the space before it (lstrip), as XLMRobertaTokenizer sets it.
            vocabulary[name].map { AddedTokens.Token(scalars: name.unicodeScalars.map(\.value), id: $0,
                                                     lstrip: family == .xlmRoberta && name == mask) }
        }
        return SentencePieceTokenizer(
            normalizers: steps, unigram: Unigram(pieces: pieces, unkId: Int32(unkId)),
            addedTokens: AddedTokens(added), replacement: 0x2581, prependScheme: .always, split: true,
            template: template, padId: vocabulary[padName] ?? 0, vocabularySize: pieces.count, vocabularyPath: url.path)
    }
}
