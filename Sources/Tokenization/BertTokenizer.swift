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
    /// Added tokens as scalar arrays, longest first (leftmost-longest matching).
    private let addedTokens: [(scalars: [UInt32], id: Int32)]
    private let addedFirstScalars: Set<UInt32>
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
        var added: [(scalars: [UInt32], id: Int32)] = []
        for token in files.addedTokens {
            guard let tokenId = files.vocabulary.id(of: token) else { continue }
            added.append((token.unicodeScalars.map(\.value), Int32(tokenId)))
        }
        added.sort { $0.scalars.count > $1.scalars.count }
        addedTokens = added
        addedFirstScalars = Set(added.compactMap { $0.scalars.first })
    }

    // MARK: - Text → tokens

    /// The WordPiece tokens of `text`, without special tokens, with character offsets.
    public func tokenize(_ text: String) -> TokenSequence {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars { scalars.append(s.value) }
        // Separate arrays, not `result.ids`/`result.offsets`: two inout accesses to one captured
        // struct would overlap under Swift's exclusivity rules.
        var ids: [Int32] = []
        var offsets: [TokenOffset] = []
        var words: [Int32] = []
        var nextWord: Int32 = 0
        ids.reserveCapacity(scalars.count / 3 + 4)
        offsets.reserveCapacity(scalars.count / 3 + 4)
        var normalized = NormalizedText()
        var utf8: [UInt8] = []
        var ends: [Int] = []
        scalars.withUnsafeBufferPointer { text in
            var segmentStart = 0
            var i = 0
            func flush(_ end: Int) {
                guard end > segmentStart else { return }
                normalized.removeAll()
                files.normalizer.normalize(text, segmentStart..<end, into: &normalized)
                wordPiece.tokenize(normalized, ids: &ids, offsets: &offsets, words: &words, nextWord: &nextWord,
                                   scratch: &utf8, scalarEnds: &ends)
            }
            while i < text.count {
                if addedFirstScalars.contains(text[i]), let (length, id) = matchAddedToken(text, at: i) {
                    flush(i)
                    ids.append(id)
                    offsets.append(TokenOffset(i, i + length))
                    words.append(nextWord)
                    nextWord += 1
                    i += length
                    segmentStart = i
                } else {
                    i += 1
                }
            }
            flush(text.count)
        }
        var result = TokenSequence()
        result.ids = ids
        result.offsets = offsets
        result.wordIds = words
        return result
    }

    private func matchAddedToken(_ text: UnsafeBufferPointer<UInt32>, at i: Int) -> (Int, Int32)? {
        for token in addedTokens where i + token.scalars.count <= text.count {
            var k = 0
            while k < token.scalars.count, text[i + k] == token.scalars[k] { k += 1 }
            if k == token.scalars.count { return (k, token.id) }
        }
        return nil
    }
}
