/// Everything that can go wrong loading, running or saving a BERT model, naming the file,
/// tensor or field involved.
public enum BertError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    /// A model folder without weights in any layout `from_pretrained` reads.
    case noWeights(folder: String)
    case unreadableFile(path: String, reason: String)
    case invalidConfig(path: String, field: String, reason: String)
    case unsupportedConfig(field: String, value: String)
    /// config.json's `model_type` names an architecture bertqa does not run.
    case unsupportedModelType(String)
    case missingTensor(name: String, file: String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int], file: String)
    case notFloatTensor(tensor: String, dtype: String, file: String)
    case invalidInput(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "file not found: \(path)"
        case .noWeights(let folder):
            return "no weights in \(folder): looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin and pytorch_model.bin.index.json"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidConfig(let path, let field, let reason):
            return "invalid config \(path): field \"\(field)\" \(reason)"
        case .unsupportedConfig(let field, let value):
            return "unsupported config: \(field) = \(value)"
        case .unsupportedModelType(let value):
            return "unsupported model_type \"\(value)\" in config.json: bertqa runs "
                + ModelType.allCases.map(\.rawValue).joined(separator: ", ")
        case .missingTensor(let name, let file):
            return "tensor \"\(name)\" is missing from \(file)"
        case .shapeMismatch(let tensor, let expected, let found, let file):
            return "tensor \"\(tensor)\" in \(file) has shape \(found), but the config needs \(expected)"
        case .notFloatTensor(let tensor, let dtype, let file):
            return "tensor \"\(tensor)\" in \(file) has dtype \(dtype); a float type (F32, F16, BF16) is needed"
        case .invalidInput(let reason):
            return "invalid model input: \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
