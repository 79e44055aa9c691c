import Foundation

/// Typed access to JSON fields that turns every absent or mistyped field into a
/// `SQuADError` naming the file, the JSON path and (when known) the example id.
struct JSONFields {
    let file: String
    var exampleId: String? = nil

    func field(_ value: JSONValue, _ key: String, at path: String) throws(SQuADError) -> JSONValue {
        guard case .object = value else {
            throw .wrongType(file: file, path: path, expected: "an object", found: value.typeName, exampleId: exampleId)
        }
        guard let member = value[key] else {
            throw .missingField(file: file, path: "\(path).\(key)", exampleId: exampleId)
        }
        return member
    }

    func string(_ value: JSONValue, at path: String) throws(SQuADError) -> String {
        guard case .string(let s) = value else {
            throw .wrongType(file: file, path: path, expected: "a string", found: value.typeName, exampleId: exampleId)
        }
        return s
    }

    func array(_ value: JSONValue, at path: String) throws(SQuADError) -> [JSONValue] {
        guard case .array(let items) = value else {
            throw .wrongType(file: file, path: path, expected: "an array", found: value.typeName, exampleId: exampleId)
        }
        return items
    }

    func int(_ value: JSONValue, at path: String) throws(SQuADError) -> Int {
        guard case .number(let x, let isInteger) = value, isInteger, let n = Int(exactly: x) else {
            throw .wrongType(file: file, path: path, expected: "an integer", found: value.typeName, exampleId: exampleId)
        }
        return n
    }

    func double(_ value: JSONValue, at path: String) throws(SQuADError) -> Double {
        guard case .number(let x, _) = value else {
            throw .wrongType(file: file, path: path, expected: "a number", found: value.typeName, exampleId: exampleId)
        }
        return x
    }

    func bool(_ value: JSONValue, at path: String) throws(SQuADError) -> Bool {
        guard case .bool(let b) = value else {
            throw .wrongType(file: file, path: path, expected: "a boolean", found: value.typeName, exampleId: exampleId)
        }
        return b
    }

    /// Reads and parses a whole JSON file.
    static func load(_ url: URL) throws(SQuADError) -> JSONValue {
        let data: Data
        // An empty regular file is named as such, and never reaches Data(contentsOf:): on Linux,
        // swift-foundation's zero-size read path leaks a 4 KB buffer (found by the SQuAD fuzzer).
        if isEmptyRegularFile(url) { throw .malformedJSON(path: url.path, reason: "the file is empty") }
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "\(error.localizedDescription)" : "no such file"
            throw .unreadableFile(path: url.path, reason: reason)
        }
        do {
            return try JSONValue.parse(data)
        } catch {
            throw .malformedJSON(path: url.path, reason: error.description)
        }
    }
}

/// Whether `url` is a regular file of 0 bytes.
func isEmptyRegularFile(_ url: URL) -> Bool {
    var info = stat()
    return stat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_size == 0
}
