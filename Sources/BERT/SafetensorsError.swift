/// A malformed `.safetensors` file, with the file and the tensor or byte range at fault.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case fileTooShort(path: String, size: Int)
    case headerLengthOutOfRange(path: String, headerLength: UInt64, fileSize: Int)
    case invalidHeader(path: String, reason: String)
    case invalidTensorEntry(path: String, tensor: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case byteCountMismatch(path: String, tensor: String, shape: [Int], dtype: String, expected: Int, actual: Int)
    case overlappingTensors(path: String, first: String, second: String, firstRange: Range<Int>, secondRange: Range<Int>)
    case tensorNotFound(path: String, tensor: String)

    public var description: String {
        switch self {
        case .fileTooShort(let path, let size):
            return "\(path): \(size) bytes is too short for a safetensors file (needs an 8-byte header length)"
        case .headerLengthOutOfRange(let path, let length, let size):
            return "\(path): header length \(length) reaches beyond the file (bytes 8..<\(8 &+ length) of \(size))"
        case .invalidHeader(let path, let reason):
            return "\(path): the header is not a valid safetensors JSON header: \(reason)"
        case .invalidTensorEntry(let path, let tensor, let reason):
            return "\(path): tensor \"\(tensor)\": \(reason)"
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor \"\(tensor)\" has unknown dtype \"\(dtype)\""
        case .offsetsOutOfRange(let path, let tensor, let begin, let end, let dataSize):
            return "\(path): tensor \"\(tensor)\" data_offsets [\(begin), \(end)) lie outside the data section (\(dataSize) bytes)"
        case .byteCountMismatch(let path, let tensor, let shape, let dtype, let expected, let actual):
            return "\(path): tensor \"\(tensor)\" (\(dtype) \(shape)) needs \(expected) bytes but data_offsets span \(actual)"
        case .overlappingTensors(let path, let first, let second, let a, let b):
            return "\(path): tensors \"\(first)\" (bytes \(a.lowerBound)..<\(a.upperBound)) and \"\(second)\" (bytes \(b.lowerBound)..<\(b.upperBound)) overlap"
        case .tensorNotFound(let path, let tensor):
            return "\(path): no tensor named \"\(tensor)\""
        }
    }
}
