import Foundation

extension Tokenizers {
    /// Which transformers converter a SentencePiece model file is read as.
    enum SentencePieceFamily {
        /// `spm.model`: DeBERTa-v2/v3 (`DebertaV2Converter`).
        case debertaV2
        /// `sentencepiece.bpe.model`: XLM-RoBERTa (`XLMRobertaConverter`, fairseq's ids).
        case xlmRoberta
        /// `spiece.model`: ALBERT (`AlbertConverter`).
        case albert
    }

    /// A SentencePiece model file read as transformers' converter for `family` converts it.
    /// DeBERTa-v2/v3: the pieces as they are; (Lowercase when `do_lower_case`,) Strip, the
    /// model's precompiled rules, Replace(" {2,}", " "); Punctuation first when
    /// `split_by_punct`; `[CLS] A [SEP] B [SEP]`, B of type 1.
    /// XLM-R: `<s> <pad> </s> <unk>`, the pieces after the model's first three, `<mask>` last;
    /// the precompiled rules, a right Strip, Replace(" {2,}", "▁"); `<s> A </s></s> B </s>`.
    /// ALBERT: pieces ending in digit + "," scored 100 lower; `` and '' as ", (NFKD and
    /// StripAccents unless `keep_accents`,) (Lowercase when `do_lower_case`,) the precompiled
    /// rules, Replace(" {2,}", " "); `[CLS] A [SEP] B [SEP]`, B of type 1.
    /// All: Metaspace before every stretch of text; special tokens from `tokenizer_config.json`.
    static func sentencePiece(model url: URL, family: SentencePieceFamily, config: TokenizerConfigJSON?) throws -> TokenizerPipeline {
        let data = try readFile(url)
        let proto: Sentencepiece_ModelProto
        do { proto = try Sentencepiece_ModelProto(serializedBytes: data) } catch {
            throw TokenizerError.malformedFile(path: url.path, reason: "not a SentencePiece model (\(error))")
        }
        guard proto.trainerSpec.modelType == .unigram else {
            throw TokenizerError.malformedFile(path: url.path, reason: "unsupported SentencePiece model type \(proto.trainerSpec.modelType) (UNIGRAM is)")
        }
        guard proto.pieces.count > 3 else { throw TokenizerError.malformedFile(path: url.path, reason: "the model has too few pieces") }
        let charsmap: Precompiled? = proto.normalizerSpec.precompiledCharsmap.isEmpty ? nil
            : try Precompiled([UInt8](proto.normalizerSpec.precompiledCharsmap), file: url.path)

        var pieces: [(String, Double)]
        var steps: [Normalizer] = []
        var preTokenizers: [PreTokenizer] = []
        let unkId: Int
        let spaces = TextPattern.run(0x20, atLeast: 2)
        switch family {
        case .debertaV2:
            pieces = proto.pieces.map { ($0.piece, Double($0.score)) }
            unkId = Int(proto.trainerSpec.unkID)
            if config?.doLowerCase == true { steps.append(.lowercase) }
            steps.append(.strip(left: true, right: true))
            if let charsmap { steps.append(.precompiled(charsmap)) }
            steps.append(.replace(pattern: spaces, content: [0x20]))
            if config?.splitByPunct == true { preTokenizers.append(.punctuation(.isolated)) }
        case .xlmRoberta:
            pieces = [("<s>", 0), ("<pad>", 0), ("</s>", 0), ("<unk>", 0)]
                + proto.pieces.dropFirst(3).map { ($0.piece, Double($0.score)) } + [("<mask>", 0)]
            unkId = 3
            if let charsmap { steps.append(.precompiled(charsmap)) }
            steps.append(.strip(left: false, right: true))
            steps.append(.replace(pattern: spaces, content: [0x2581]))
        case .albert:
            pieces = proto.pieces.map { p in
                let s = Array(p.piece.unicodeScalars)
                let digitComma = s.count >= 2 && s[s.count - 1] == "," && s[s.count - 2].properties.numericType == .decimal
                return (p.piece, Double(p.score) - (digitComma ? 100 : 0))
            }
            unkId = Int(proto.trainerSpec.unkID)
            steps.append(.replace(pattern: .literal([0x60, 0x60]), content: [0x22]))
            steps.append(.replace(pattern: .literal([0x27, 0x27]), content: [0x22]))
            if config?.keepAccents != true { steps += [.unicode(.nfkd), .stripAccents] }
            if config?.doLowerCase ?? true { steps.append(.lowercase) }
            if let charsmap { steps.append(.precompiled(charsmap)) }
            steps.append(.replace(pattern: spaces, content: [0x20]))
        }
        guard unkId >= 0, unkId < pieces.count else {
            throw TokenizerError.malformedFile(path: url.path, reason: "unk_id \(unkId) is outside the \(pieces.count) pieces")
        }
        preTokenizers.append(.metaspace(replacement: 0x2581, prepend: .always, split: true))

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
        case .debertaV2, .albert:
            template = .bert(cls: try id(config?.clsToken?.content, "[CLS]"), sep: try id(config?.sepToken?.content, "[SEP]"))
            padName = config?.padToken?.content ?? (family == .albert ? "<pad>" : "[PAD]")
        case .xlmRoberta:
            template = .roberta(cls: try id(config?.clsToken?.content ?? config?.bosToken?.content, "<s>"),
                                sep: try id(config?.sepToken?.content ?? config?.eosToken?.content, "</s>"))
            padName = config?.padToken?.content ?? "<pad>"
        }
        var model = UnigramModel(unigram: Unigram(pieces: pieces, unkId: Int32(unkId)), size: pieces.count)
        if proto.trainerSpec.byteFallback {
            model.byteIds = ScalarVocabulary(pieces.enumerated().map { ($1.0, Int32($0)) }).byteTokenIds
        }
        var p = TokenizerPipeline(normalizers: steps, preTokenizers: preTokenizers, model: .unigram(model), template: template,
                                  padId: vocabulary[padName] ?? 0, vocabularyPath: url.path)
        // XLM-R's and ALBERT's mask token takes the space before it (lstrip), as their slow
        // tokenizers set it; DeBERTa's does not.
        try addSlowAddedTokens(to: &p, config: config, names: vocabulary, lstripMask: family != .debertaV2)
        return p
    }

    /// The special tokens of `tokenizer_config.json` as transformers adds them to a tokenizer
    /// converted from slow files: with the flags its `added_tokens_decoder` gives, else as the
    /// slow class sets them (none stripped but, where `lstripMask`, the mask token).
    static func addSlowAddedTokens(to p: inout TokenizerPipeline, config: TokenizerConfigJSON?, names: [String: Int32],
                                   lstripMask: Bool) throws {
        if let decoder = config?.addedTokensDecoder, !decoder.isEmpty {
            for (key, token) in decoder.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
                guard let id = Int32(key), !token.content.isEmpty else { continue }
                p.add(AddedTokens.Token(scalars: token.content.unicodeScalars.map(\.value), id: id,
                                        lstrip: token.lstrip ?? false, rstrip: token.rstrip ?? false,
                                        singleWord: token.singleWord ?? false),
                      normalized: token.normalized ?? !(token.special ?? false))
            }
            return
        }
        let mask = config?.maskToken?.content
        let special = [config?.clsToken, config?.sepToken, config?.unkToken, config?.padToken, config?.maskToken,
                       config?.bosToken, config?.eosToken].compactMap { $0?.content }
        for name in Set(special) {
            guard let id = names[name] else { continue }
            p.addedTokens.append(AddedTokens.Token(scalars: name.unicodeScalars.map(\.value), id: id,
                                                   lstrip: lstripMask && name == mask))
        }
    }
}
