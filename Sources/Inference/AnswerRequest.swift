import Foundation
import Support

/// One JSON request to answer, the same on `answer`'s stdin and in `serve`'s `POST /answer`.
/// Two shapes are accepted:
/// - the Hugging Face Inference API's envelope: `{"inputs": {"question", "context"} | [{...}, ...],
///   "parameters": {top_k, doc_stride, max_answer_len, max_seq_len, handle_impossible_answer,
///   align_to_words}}`;
/// - the pipeline's call as one object: `{"question": Q, "context": C, "top_k": 3, ...}`.
/// Either may carry an `"id"` (any JSON value; inside each input too), echoed in the answer.
/// A parameter given as `null` means its default, as in Python; an unknown key is refused,
/// never ignored.
public struct AnswerRequest: Sendable {
    public struct Item: Sendable {
        public var job: AnswerJob
        public var id: JSONValue?
    }

    public var items: [Item]
    /// `inputs` was a list: answer with a list, one entry per input.
    public var isBatch: Bool

    /// The pipeline's parameter names, as `parameters` (or the flat shape) takes them.
    public static let parameterNames = ["top_k", "doc_stride", "max_answer_len", "max_seq_len", "max_question_len",
                                        "handle_impossible_answer", "align_to_words"]

    /// Parses a request body or input line; `defaults` are the options of parameters it does not
    /// give (a CLI's flags; the pipeline's defaults otherwise).
    public static func parse(_ body: Data, defaults: AnswerOptions = AnswerOptions()) throws -> AnswerRequest {
        guard let root = try? JSONValue.parse(body) else {
            throw AnswerRequestError("not JSON: expected an object such as {\"question\": \"…\", \"context\": \"…\"}")
        }
        return try parse(root, defaults: defaults)
    }

    public static func parse(_ root: JSONValue, defaults: AnswerOptions = AnswerOptions()) throws -> AnswerRequest {
        guard case .object(let members) = root else {
            throw AnswerRequestError("expected a JSON object such as {\"question\": \"…\", \"context\": \"…\"}, got \(root.kindDescription)")
        }
        let id = root["id"]
        if root["inputs"] == nil {
            // The flat shape: the question, the context and the parameters side by side.
            let expected = ["question", "context", "id"] + parameterNames
            if let unknown = members.first(where: { !expected.contains($0.key) }) {
                throw AnswerRequestError("unknown field \"\(unknown.key)\" (expected \"question\", \"context\", optional \"id\" and parameters \(parameterNames.joined(separator: ", ")); or HF's {\"inputs\", \"parameters\"})", id: id)
            }
            let options = try parameters(members.filter { parameterNames.contains($0.key) }, defaults, id: id)
            return AnswerRequest(items: [Item(job: try job(root, path: "", options, id: id), id: id)], isBatch: false)
        }
        for (key, _) in members where !["inputs", "parameters", "options", "id"].contains(key) {
            throw AnswerRequestError("unknown field \"\(key)\" (expected \"inputs\", optional \"parameters\", \"options\" and \"id\")", id: id)
        }
        try checkServingOptions(root["options"], id: id)
        var options = defaults
        switch root["parameters"] {
        case nil, .null?: break
        case .object(let given)?: options = try parameters(given, defaults, id: id)
        default: throw AnswerRequestError("\"parameters\" must be an object", id: id)
        }
        let inputs = root["inputs"]!
        if case .array(let list) = inputs {
            if list.isEmpty { throw AnswerRequestError("\"inputs\" is an empty list", id: id) }
            let items = try list.enumerated().map { k, input in
                let inner = input["id"]
                return Item(job: try job(input, path: "inputs[\(k)].", options, id: inner ?? id), id: inner)
            }
            return AnswerRequest(items: items, isBatch: true)
        }
        let itemID = inputs["id"] ?? id
        return AnswerRequest(items: [Item(job: try job(inputs, path: "inputs.", options, id: itemID), id: itemID)], isBatch: false)
    }

    /// The answers as the pipeline returns them (an object, or a list for several), each object
    /// led by `"id"` when the input had one.
    public static func json(_ answers: [Answer], id: JSONValue?) -> JSONValue {
        guard let id else { return answers.pipelineJSON }
        let objects = answers.map { answer -> JSONValue in
            guard case .object(let members) = answer.json else { return answer.json }
            return .object([("id", id)] + members)
        }
        return objects.count == 1 ? objects[0] : .array(objects)
    }

    /// `{"error": message}`, led by `"id"` when known.
    public static func errorJSON(_ message: String, id: JSONValue?) -> JSONValue {
        .object((id.map { [("id", $0)] } ?? []) + [("error", .string(message))])
    }

    private static func job(_ input: JSONValue, path: String, _ options: AnswerOptions, id: JSONValue?) throws -> AnswerJob {
        guard case .object(let members) = input else {
            throw AnswerRequestError("\"\(path.dropLast())\" must be an object with \"question\" and \"context\"", id: id)
        }
        if !path.isEmpty, let unknown = members.first(where: { !["question", "context", "id"].contains($0.key) }) {
            throw AnswerRequestError("unknown field \"\(path)\(unknown.key)\" (an input has \"question\", \"context\" and optional \"id\"; parameters go in \"parameters\")", id: id)
        }
        // An empty question or context is the answerer's to refuse, as it is from the flags.
        func text(_ key: String) throws -> String {
            guard let raw = input[key] else { throw AnswerRequestError("missing field \"\(path)\(key)\"", id: id) }
            guard case .string(let s) = raw else { throw AnswerRequestError("\"\(path)\(key)\" must be a string", id: id) }
            return s
        }
        return AnswerJob(question: try text("question"), context: try text("context"), options: options)
    }

    private static func parameters(_ given: [(key: String, value: JSONValue)], _ defaults: AnswerOptions,
                                   id: JSONValue?) throws -> AnswerOptions {
        var options = defaults
        for (key, raw) in given where raw != .null {
            switch key {
            case "top_k": options.topK = try integer(raw, key, id)
            case "doc_stride": options.docStride = try integer(raw, key, id)
            case "max_answer_len": options.maxAnswerLength = try integer(raw, key, id)
            case "max_seq_len": options.maxSeqLength = try integer(raw, key, id)
            case "max_question_len":
                // Accepted and checked as the pipeline does; like its fast-tokenizer path (every
                // tokenizer here is one), it does not change the windows.
                if try integer(raw, key, id) < 1 { throw AnswerRequestError("max_question_len must be at least 1", id: id) }
            case "handle_impossible_answer": options.handleImpossibleAnswer = try boolean(raw, key, id)
            case "align_to_words": options.alignToWords = try boolean(raw, key, id)
            default: throw AnswerRequestError("unknown parameter \"\(key)\" (known: \(parameterNames.joined(separator: ", ")))", id: id)
            }
        }
        do { try options.validate() } catch { throw AnswerRequestError("\(error)", id: id) }
        return options
    }

    /// The Inference API's `options` (`use_cache`, `wait_for_model`): hints to a hosted service
    /// with nothing to do here (no result cache; the model is loaded before the first request),
    /// accepted when well-formed as the API accepts them.
    private static func checkServingOptions(_ value: JSONValue?, id: JSONValue?) throws {
        switch value {
        case nil, .null?: return
        case .object(let members)?:
            for (key, raw) in members {
                guard ["use_cache", "wait_for_model"].contains(key) else {
                    throw AnswerRequestError("unknown option \"\(key)\" (the API's options are use_cache and wait_for_model)", id: id)
                }
                if raw != .null { _ = try boolean(raw, key, id) }
            }
        default: throw AnswerRequestError("\"options\" must be an object", id: id)
        }
    }

    private static func integer(_ raw: JSONValue, _ key: String, _ id: JSONValue?) throws -> Int {
        // 3.0 is taken as 3, as Python's pipeline would; 3.5 and booleans are not integers.
        let n: Int?
        switch raw {
        case .int(let v): n = v
        case .double(let x): n = Int(exactly: x)
        default: n = nil
        }
        guard let n, abs(n) < 1 << 31 else { throw AnswerRequestError("parameter \"\(key)\" must be an integer", id: id) }
        return n
    }

    private static func boolean(_ raw: JSONValue, _ key: String, _ id: JSONValue?) throws -> Bool {
        guard case .bool(let b) = raw else { throw AnswerRequestError("parameter \"\(key)\" must be true or false", id: id) }
        return b
    }
}

/// A request that cannot be answered as given (the server's 400): the message, and the
/// request's id when it had one, to echo.
public struct AnswerRequestError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public let id: JSONValue?
    public init(_ message: String, id: JSONValue? = nil) {
        description = message
        self.id = id
    }
}
