import Foundation
import Inference

/// The body of `POST /answer`, in the Hugging Face Inference API schema:
/// `{"inputs": {"question", "context"} | [{...}, ...], "parameters": {top_k, doc_stride,
/// max_answer_len, max_seq_len, handle_impossible_answer, align_to_words}}`.
struct AnswerRequest {
    var jobs: [AnswerJob]
    /// `inputs` was a list: answer with a list, one entry per input.
    var isBatch: Bool

    /// Parses and validates a body; throws `RequestError` (→ 400) naming the bad field.
    static func parse(_ body: Data) throws -> AnswerRequest {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw RequestError("malformed JSON body")
        }
        guard let object = root as? [String: Any] else { throw RequestError("the body must be a JSON object") }
        for key in object.keys where key != "inputs" && key != "parameters" {
            throw RequestError("unknown field \"\(key)\" (expected \"inputs\" and optional \"parameters\")")
        }
        let options = try parseParameters(object["parameters"])
        guard let inputs = object["inputs"] else { throw RequestError("missing field \"inputs\"") }
        if let list = inputs as? [Any] {
            if list.isEmpty { throw RequestError("\"inputs\" is an empty list") }
            let jobs = try list.enumerated().map { try parseInput($0.element, path: "inputs[\($0.offset)]", options) }
            return AnswerRequest(jobs: jobs, isBatch: true)
        }
        return AnswerRequest(jobs: [try parseInput(inputs, path: "inputs", options)], isBatch: false)
    }

    private static func parseInput(_ value: Any, path: String, _ options: AnswerOptions) throws -> AnswerJob {
        guard let input = value as? [String: Any] else { throw RequestError("\"\(path)\" must be an object with \"question\" and \"context\"") }
        func text(_ key: String) throws -> String {
            guard let raw = input[key] else { throw RequestError("missing field \"\(path).\(key)\"") }
            guard let s = raw as? String else { throw RequestError("\"\(path).\(key)\" must be a string") }
            if s.isEmpty { throw RequestError("\"\(path).\(key)\" is empty") }
            return s
        }
        return AnswerJob(question: try text("question"), context: try text("context"), options: options)
    }

    private static func parseParameters(_ value: Any?) throws -> AnswerOptions {
        var options = AnswerOptions()
        guard let value, !(value is NSNull) else { return options }
        guard let parameters = value as? [String: Any] else { throw RequestError("\"parameters\" must be an object") }
        for (key, raw) in parameters {
            switch key {
            case "top_k": options.topK = try integer(raw, key)
            case "doc_stride": options.docStride = try integer(raw, key)
            case "max_answer_len": options.maxAnswerLength = try integer(raw, key)
            case "max_seq_len": options.maxSeqLength = try integer(raw, key)
            case "handle_impossible_answer": options.handleImpossibleAnswer = try boolean(raw, key)
            case "align_to_words": options.alignToWords = try boolean(raw, key)
            default: throw RequestError("unknown parameter \"\(key)\"")
            }
        }
        do { try options.validate() } catch { throw RequestError("\(error)") }
        return options
    }

    private static func integer(_ raw: Any, _ key: String) throws -> Int {
        // NSNumber bridges booleans to Int too; reject them, and reject non-integral numbers.
        if let number = raw as? NSNumber, !isBoolean(number), let value = Int(exactly: number.doubleValue),
           number.doubleValue.rounded() == number.doubleValue, abs(value) < 1 << 31 {
            return value
        }
        throw RequestError("parameter \"\(key)\" must be an integer")
    }

    private static func boolean(_ raw: Any, _ key: String) throws -> Bool {
        if let number = raw as? NSNumber, isBoolean(number) { return number.boolValue }
        throw RequestError("parameter \"\(key)\" must be true or false")
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        // JSONSerialization on Linux makes booleans NSNumber(value: Bool); their type is "c"/"B".
        let type = String(cString: number.objCType)
        return type == "c" || type == "B"
    }
}

/// A client error: 400 with `{"error": message}`.
struct RequestError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
