import Dispatch
import Foundation

/// BERT's tokenizer with Hugging Face `BertTokenizerFast` semantics: added/special tokens
/// matched in the raw text, `BertNormalizer`, `BertPreTokenizer`, WordPiece, and the
/// `[CLS] A [SEP] B [SEP]` template with `only_second` overflow windows.
///
/// Immutable after loading, so one instance serves many threads.
public final class BertTokenizer: QATokenizer {
    public let files: TokenizerFiles
    public var vocabulary: Vocabulary { files.vocabulary }
    public let clsId: Int32
    public let sepId: Int32
    public let padId: Int32
    public let unkId: Int32
    private let wordPiece: WordPiece
    /// Added tokens, matched in the raw text.
    private let addedTokens: AddedTokens
    public let template: SpecialTokensTemplate
    public var vocabularySize: Int { files.vocabulary.count }
    public var vocabularyPath: String { files.vocabularyPath }
    public var returnsTokenTypeIds: Bool { files.returnsTokenTypeIds }

    /// Loads `vocab.txt` / `tokenizer.json` / `tokenizer_config.json` from a model folder.
    public convenience init(directory: URL) throws {
        try self.init(files: TokenizerFiles.load(directory: directory))
    }

    public init(files: TokenizerFiles) throws {
        self.files = files
        func id(_ token: String) throws -> Int32 {
            guard let id = files.vocabulary.id(of: token) else {
                throw TokenizerError.missingSpecialToken(token: token, path: files.vocabularyPath)
            }
            return Int32(id)
        }
        clsId = try id(files.clsToken)
        sepId = try id(files.sepToken)
        padId = try id(files.padToken)
        unkId = try id(files.unkToken)
        template = .bert(cls: clsId, sep: sepId)
        wordPiece = WordPiece(vocabulary: files.vocabulary, unkId: unkId,
                              maxInputCharsPerWord: files.maxInputCharsPerWord)
        addedTokens = AddedTokens(files.addedTokens.compactMap { token in
            files.vocabulary.id(of: token).map { AddedTokens.Token(scalars: token.unicodeScalars.map(\.value), id: Int32($0)) }
        })
    }

    // MARK: - Text → tokens

    /// The WordPiece tokens of `text`, without special tokens, with character offsets.
    public func tokenize(_ text: String) -> TokenSequence {
        var normalized = NormalizedText()
        var utf8: [UInt8] = []
        var ends: [Int] = []
        return addedTokens.tokenize(text, offsetsOfContent: false) { text, range, _, out, word in
            guard !range.isEmpty else { return }
            normalized.removeAll()
            files.normalizer.normalize(text, range, into: &normalized)
            wordPiece.tokenize(normalized, into: &out, nextWord: &word, scratch: &utf8, scalarEnds: &ends)
        }
    }
}
