import Foundation
import Support

/// `tokenizer.json` as the `tokenizers` library writes it. One schema for every component: a
/// normalizer, pre-tokenizer or post-processor is a `Component` whose `type` says which fields
/// it uses; `Sequence`s nest. The model's vocabulary is read from the parsed JSON directly (in
/// file order, keys compared as scalars), not through here.
struct TokenizerJSON: Decodable {
    struct Component: Decodable {
        var type: String?
        var normalizers: [Component]?
        var pretokenizers: [Component]?
        var processors: [Component]?
        // BertNormalizer (strip_accents null means "follow lowercase", as in HF)
        var cleanText: Bool?
        var handleChineseChars: Bool?
        var lowercase: Bool?
        var stripAccents: Bool?
        // Strip
        var stripLeft: Bool?
        var stripRight: Bool?
        // Precompiled
        var precompiledCharsmap: String?
        // Replace, Split
        var pattern: Pattern?
        var content: String?
        var behavior: String?
        var invert: Bool?
        // Prepend
        var prepend: String?
        // Metaspace
        var replacement: String?
        var prependScheme: String?
        var split: Bool?
        // ByteLevel, RobertaProcessing
        var addPrefixSpace: Bool?
        var trimOffsets: Bool?
        var useRegex: Bool?
        // Digits
        var individualDigits: Bool?
        // BertProcessing, RobertaProcessing: [token, id]
        var sep: TokenAndID?
        var cls: TokenAndID?
        // TemplateProcessing
        var single: [TemplatePiece]?
        var pair: [TemplatePiece]?
        var specialTokens: [String: SpecialToken]?

        enum CodingKeys: String, CodingKey {
            case type, normalizers, pretokenizers, processors, lowercase, pattern, content, behavior, invert, prepend
            case replacement, split, sep, cls, single, pair
            case cleanText = "clean_text"
            case handleChineseChars = "handle_chinese_chars"
            case stripAccents = "strip_accents"
            case stripLeft = "strip_left"
            case stripRight = "strip_right"
            case precompiledCharsmap = "precompiled_charsmap"
            case prependScheme = "prepend_scheme"
            case addPrefixSpace = "add_prefix_space"
            case trimOffsets = "trim_offsets"
            case useRegex = "use_regex"
            case individualDigits = "individual_digits"
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

    struct Model: Decodable {
        var type: String?
        var continuingSubwordPrefix: String?
        var unkToken: String?
        var maxInputCharsPerWord: Int?
        // BPE
        var merges: [Merge]?
        var endOfWordSuffix: String?
        var byteFallback: Bool?
        var fuseUnk: Bool?
        var dropout: Double?
        var ignoreMerges: Bool?
        // Unigram
        var unkId: Int?

        enum CodingKeys: String, CodingKey {
            case type, merges, dropout
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case unkToken = "unk_token"
            case maxInputCharsPerWord = "max_input_chars_per_word"
            case endOfWordSuffix = "end_of_word_suffix"
            case byteFallback = "byte_fallback"
            case fuseUnk = "fuse_unk"
            case ignoreMerges = "ignore_merges"
            case unkId = "unk_id"
        }
    }

    /// One merge: "left right" (`tokenizers` before 0.20) or ["left", "right"] (since).
    struct Merge: Decodable {
        var left: String
        var right: String

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw JSONDecodingError(decoder.codingPath, "a merge must be \"left right\", got \"\(text)\"")
                }
                (left, right) = (String(parts[0]), String(parts[1]))
            } else {
                let pair = try [String](from: decoder)
                guard pair.count == 2 else { throw JSONDecodingError(decoder.codingPath, "a merge must be two tokens") }
                (left, right) = (pair[0], pair[1])
            }
        }
    }

    struct AddedToken: Decodable {
        var id: Int?
        var content: String
        var special: Bool?
        var lstrip: Bool?
        var rstrip: Bool?
        var normalized: Bool?
        var singleWord: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, special, lstrip, rstrip, normalized
            case singleWord = "single_word"
        }
    }

    struct TokenAndID: Decodable {
        var token: String
        var id: Int
        init(from decoder: any Decoder) throws {
            var list = try decoder.unkeyedContainer()
            token = try list.decode(String.self)
            id = try list.decode(Int.self)
        }
    }

    struct Truncation: Decodable {
        var maxLength: Int?
        enum CodingKeys: String, CodingKey { case maxLength = "max_length" }
    }

    var normalizer: Component?
    var preTokenizer: Component?
    var postProcessor: Component?
    var model: Model?
    var addedTokens: [AddedToken]?
    var truncation: Truncation?

    enum CodingKeys: String, CodingKey {
        case normalizer, model, truncation
        case preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor"
        case addedTokens = "added_tokens"
    }
}

/// `tokenizer_config.json` as transformers writes it: the slow tokenizer's settings.
struct TokenizerConfigJSON: Decodable {
    var doLowerCase: Bool?
    var tokenizeChineseChars: Bool?
    var stripAccents: Bool?
    /// A float: transformers writes 1e30 (as a 31-digit integer) for "no limit".
    var modelMaxLength: Double?
    var unkToken: TokenName?
    var clsToken: TokenName?
    var sepToken: TokenName?
    var padToken: TokenName?
    var maskToken: TokenName?
    var bosToken: TokenName?
    var eosToken: TokenName?
    /// Byte-level BPE's slow-tokenizer settings.
    var addPrefixSpace: Bool?
    var trimOffsets: Bool?
    /// SentencePiece families' slow-tokenizer settings.
    var keepAccents: Bool?
    var splitByPunct: Bool?
    var legacy: Bool?
    var tokenizerClass: String?
    /// The flags of each added token, by id (what `save_pretrained` writes since transformers 4.34).
    var addedTokensDecoder: [String: TokenizerJSON.AddedToken]?

    enum CodingKeys: String, CodingKey {
        case legacy
        case tokenizerClass = "tokenizer_class"
        case keepAccents = "keep_accents"
        case splitByPunct = "split_by_punct"
        case addedTokensDecoder = "added_tokens_decoder"
        case doLowerCase = "do_lower_case"
        case tokenizeChineseChars = "tokenize_chinese_chars"
        case stripAccents = "strip_accents"
        case modelMaxLength = "model_max_length"
        case unkToken = "unk_token"
        case clsToken = "cls_token"
        case sepToken = "sep_token"
        case padToken = "pad_token"
        case maskToken = "mask_token"
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case addPrefixSpace = "add_prefix_space"
        case trimOffsets = "trim_offsets"
    }

    /// A special token, written either as its text or as an `AddedToken` object with `content`.
    struct TokenName: Decodable {
        var content: String

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                content = text
            } else {
                struct Object: Decodable { var content: String }
                content = try Object(from: decoder).content
            }
        }
    }
}

/// Reads a JSON file of a model folder into `T`, every failure a `TokenizerError` naming the file.
func decodeTokenizerFile<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
    try decodeTokenizerFile(type, from: readTokenizerFile(url), url: url)
}

/// A model folder's JSON file parsed (its top level must be an object).
func readTokenizerFile(_ url: URL) throws -> JSONValue {
    let data = try readFile(url)
    let json: JSONValue
    do { json = try JSONValue.parse(data) } catch {
        throw TokenizerError.malformedFile(path: url.path, reason: "not valid JSON (\(error))")
    }
    guard case .object = json else {
        throw TokenizerError.malformedFile(path: url.path, reason: "the top level is not a JSON object")
    }
    return json
}

/// An already parsed file of the model folder at `url` read into `T`.
func decodeTokenizerFile<T: Decodable>(_ type: T.Type, from json: JSONValue, url: URL) throws -> T {
    do { return try JSONValueDecoder.decode(type, from: json) } catch {
        throw TokenizerError.malformedFile(path: url.path, reason: error.description)
    }
}
