/// Everything that can go wrong while loading a tokenizer or encoding text.
/// Each case names the file or the setting at fault, so a CLI can print it as one line.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A file the tokenizer needs is absent.
    case fileNotFound(path: String)
    /// A file exists but could not be read (permissions, a folder, I/O error).
    case unreadableFile(path: String, reason: String)
    /// A file was read but its content is not what it should be.
    case malformedFile(path: String, reason: String)
    /// The vocabulary lacks a token the BERT template needs ([CLS], [SEP], [UNK], [PAD]).
    case missingSpecialToken(token: String, path: String)
    /// The question plus special tokens leave no room for the context (HF: "sequence too short").
    case questionTooLong(questionTokens: Int, maxLength: Int)
    /// The overlap between windows must be strictly smaller than the room left for the context.
    case strideTooLarge(stride: Int, contextRoom: Int)
    /// A call option that makes no sense (negative length, ...).
    case invalidOption(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "tokenizer file not found: \(path)"
        case .unreadableFile(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .malformedFile(let path, let reason):
            return "malformed tokenizer file \(path): \(reason)"
        case .missingSpecialToken(let token, let path):
            return "vocabulary \(path) has no special token \(token)"
        case .questionTooLong(let q, let maxLength):
            return "question is too long for max_length \(maxLength): \(q) question tokens + 3 special tokens leave no room for the context"
        case .strideTooLarge(let stride, let room):
            return "stride \(stride) must be smaller than the room left for the context (\(room) tokens); lower the stride or raise max_length"
        case .invalidOption(let message):
            return "invalid tokenizer option: \(message)"
        }
    }
}
