/// Everything that can go wrong in the SQuAD module. Each case says what and where (file,
/// JSON path, example id), so the CLI can print it as one line.
public enum SQuADError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read at all.
    case unreadableFile(path: String, reason: String)
    /// A file is not valid JSON.
    case malformedJSON(path: String, reason: String)
    /// A required field is absent. `path` is the JSON path, `exampleId` the question id when known.
    case missingField(file: String, path: String, exampleId: String?)
    /// A field has the wrong JSON type.
    case wrongType(file: String, path: String, expected: String, found: String, exampleId: String?)
    /// A predictions / no-answer-probability file lacks a question of the dataset.
    case missingPrediction(file: String, exampleId: String)
    /// Features and logits (or features and examples) do not line up.
    case mismatch(String)
    /// A call option that makes no sense.
    case invalidOption(String)
    /// A tokenizer error while building features, with the example it came from.
    case tokenization(exampleId: String, reason: String)

    public var description: String {
        func at(_ id: String?) -> String { id.map { " (example id \($0))" } ?? "" }
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .malformedJSON(let path, let reason):
            return "malformed JSON in \(path): \(reason)"
        case .missingField(let file, let path, let id):
            return "\(file): missing field \(path)\(at(id))"
        case .wrongType(let file, let path, let expected, let found, let id):
            return "\(file): \(path) should be \(expected), found \(found)\(at(id))"
        case .missingPrediction(let file, let id):
            return "\(file) has no entry for question id \(id)"
        case .mismatch(let message):
            return "mismatch: \(message)"
        case .invalidOption(let message):
            return "invalid option: \(message)"
        case .tokenization(let id, let reason):
            return "cannot build features for example id \(id): \(reason)"
        }
    }
}
