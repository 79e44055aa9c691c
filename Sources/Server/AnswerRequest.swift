import Foundation
import Support
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
        guard let root = try? JSONValue.parse(body) else { throw RequestError("malformed JSON body") }
        guard case .object(let members) = root else { throw RequestError("the body must be a JSON object") }
        for (key, _) in members where key != "inputs" && key != "parameters" {
            throw RequestError("unknown field \"\(key)\" (expected \"inputs\" and optional \"parameters\")")
        }
        let options = try parseParameters(root["parameters"])
        guard let inputs = root["inputs"] else { throw RequestError("missing field \"inputs\"") }
        if case .array(let list) = inputs {
            if list.isEmpty { throw RequestError("\"inputs\" is an empty list") }
            let jobs = try list.enumerated().map { try parseInput($0.element, path: "inputs[\($0.offset)]", options) }
            return AnswerRequest(jobs: jobs, isBatch: true)
        }
        return AnswerRequest(jobs: [try parseInput(inputs, path: "inputs", options)], isBatch: false)
    }

    private static func parseInput(_ input: JSONValue, path: String, _ options: AnswerOptions) throws -> AnswerJob {
        guard case .object = input else { throw RequestError("\"\(path)\" must be an object with \"question\" and \"context\"") }
        func text(_ key: String) throws -> String {
            guard let raw = input[key] else { throw RequestError("missing field \"\(path).\(key)\"") }
            guard case .string(let s) = raw else { throw RequestError("\"\(path).\(key)\" must be a string") }
            if s.isEmpty { throw RequestError("\"\(path).\(key)\" is empty") }
            return s
        }
        return AnswerJob(question: try text("question"), context: try text("context"), options: options)
    }

    private static func parseParameters(_ value: JSONValue?) throws -> AnswerOptions {
        var options = AnswerOptions()
        guard let value, value != .null else { return options }
        guard case .object(let parameters) = value else { throw RequestError("\"parameters\" must be an object") }
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

    private static func integer(_ raw: JSONValue, _ key: String) throws -> Int {
        // 3.0 is taken as 3, as Python's pipeline would; 3.5 and booleans are not integers.
        let n: Int?
        switch raw {
        case .int(let v): n = v
        case .double(let x): n = Int(exactly: x)
        default: n = nil
        }
        guard let n, abs(n) < 1 << 31 else { throw RequestError("parameter \"\(key)\" must be an integer") }
        return n
    }

    private static func boolean(_ raw: JSONValue, _ key: String) throws -> Bool {
        guard case .bool(let b) = raw else { throw RequestError("parameter \"\(key)\" must be true or false") }
        return b
    }
}

/// A client error: 400 with `{"error": message}`.
struct RequestError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
