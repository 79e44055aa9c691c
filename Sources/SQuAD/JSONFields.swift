import Foundation
import Support

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
        guard case .int(let n) = value else {
            throw .wrongType(file: file, path: path, expected: "an integer", found: value.typeName, exampleId: exampleId)
        }
        return n
    }

    func double(_ value: JSONValue, at path: String) throws(SQuADError) -> Double {
        guard let x = value.number else {
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
        do {
            return try JSONValue.load(contentsOf: url)
        } catch {
            switch error {
            case .notFound(let path): throw .unreadableFile(path: path, reason: "no such file")
            case .unreadable(let path, let reason): throw .unreadableFile(path: path, reason: reason)
            case .malformed(let path, let reason): throw .malformedJSON(path: path, reason: reason)
            }
        }
    }
}
