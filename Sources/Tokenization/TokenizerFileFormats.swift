import Foundation
import Support

/// `tokenizer.json` as the `tokenizers` library writes it: the parts a WordPiece tokenizer uses.
struct TokenizerJSON: Decodable {
    struct Normalizer: Decodable {
        var type: String?
        var cleanText: Bool?
        var handleChineseChars: Bool?
        var lowercase: Bool?
        /// null means "follow lowercase", as in HF.
        var stripAccents: Bool?

        enum CodingKeys: String, CodingKey {
            case type, lowercase
            case cleanText = "clean_text"
            case handleChineseChars = "handle_chinese_chars"
            case stripAccents = "strip_accents"
        }
    }

    struct Model: Decodable {
        var type: String?
        var continuingSubwordPrefix: String?
        var unkToken: String?
        var maxInputCharsPerWord: Int?
        var vocab: [String: Int]?
        // BPE
        var merges: [Merge]?
        var endOfWordSuffix: String?
        var byteFallback: Bool?
        var dropout: Double?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges, dropout
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case unkToken = "unk_token"
            case maxInputCharsPerWord = "max_input_chars_per_word"
            case endOfWordSuffix = "end_of_word_suffix"
            case byteFallback = "byte_fallback"
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

    /// A pre-tokenizer or post-processor: its type and the settings the byte-level family reads.
    struct Component: Decodable {
        var type: String?
        var addPrefixSpace: Bool?
        var trimOffsets: Bool?
        var useRegex: Bool?
        /// RobertaProcessing / BertProcessing: [token, id].
        var sep: TokenAndID?
        var cls: TokenAndID?

        enum CodingKeys: String, CodingKey {
            case type, sep, cls
            case addPrefixSpace = "add_prefix_space"
            case trimOffsets = "trim_offsets"
            case useRegex = "use_regex"
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

    var normalizer: Normalizer?
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

    enum CodingKeys: String, CodingKey {
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
