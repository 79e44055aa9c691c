import ArgumentParser
import Foundation
import Inference
import Server
import Support

extension LogFormat: ExpressibleByArgument {}

/// `bertqa serve`: the HTTP API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over HTTP: POST /answer; GET / (a page), /health, /info, /metrics, /openapi.json.",
        usage: "bertqa serve --model <folder-or-hub-id> [--port <port>] [<options>]",
        discussion: """
        POST /answer takes the Hugging Face Inference API's body:
          {"inputs": {"question": Q, "context": C}, "parameters": {"top_k": 1,
           "doc_stride": 128, "max_answer_len": 15, "max_seq_len": 384,
           "handle_impossible_answer": false, "align_to_words": true}}
        ("inputs" may be a list), or the same as one object, as `answer` reads it:
          {"question": Q, "context": C, "top_k": 3}

        It answers {"score", "start", "end", "answer"} (a list when top_k > 1), led by "id" when the \
        input has one. GET /info says which model runs and how (and warns of an untrained QA head). \
        Concurrent requests share the model's passes window by window, so a long context does \
        not hold up short questions; beyond --max-queue waiting questions a \
        request gets 503 with Retry-After at once, and one that waits past --request-timeout gets \
        504 without reaching the model; one whose contexts need more than \
        --max-windows-per-request windows gets 413 before it queues. With API keys (--api-key-file, BERTQA_API_KEYS), POST \
        /answer and GET /metrics need Authorization: Bearer <key>. GET / is a page to ask \
        questions on in a browser. Each request is logged on stderr (id, route, status, latency, \
        questions, windows, passes; --log-format json for collectors; texts only with \
        --log-bodies). SIGINT/SIGTERM shut down gracefully.
        """
    )

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Address to listen on (0.0.0.0: every interface).")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(parsing: .unconditional, help: "Largest request body in bytes; larger ones get 413.")
    var maxBodyBytes = 1 << 20

    @Option(parsing: .unconditional, help: "Windows per forward pass, shared by the requests waiting (a long context's windows take turns with the others').")
    var batchSize = 8

    // Before passes were shared window by window, requests were batched by questions; the old
    // flag is still accepted (so scripts keep running) and said to be ignored.
    @Option(name: [.customLong("max-batch-questions"), .customLong("max-batch")], parsing: .unconditional,
            help: .hidden)
    var maxBatchQuestions: Int?

    @Option(parsing: .unconditional, help: "Most questions waiting for the model; more get 503 at once (with Retry-After).")
    var maxQueue = 256

    @Option(parsing: .unconditional, help: "Seconds a request may wait for the model; past it, 504.")
    var requestTimeout = 30.0

    @Option(parsing: .unconditional, help: "Most windows of the model one request may need; beyond, 413 (0: no cap).")
    var maxWindowsPerRequest = 512

    @Option(parsing: .unconditional, help: "Most connections open at once; more wait until one closes.")
    var maxConnections = 512

    @Option(parsing: .unconditional, help: "Seconds a request may take to arrive whole (head and body, from the connection opening or the previous answer); a slower client is disconnected.")
    var readTimeout = 10.0

    @Option(help: "A file of API keys, one per line (# comments); POST /answer then needs Authorization: Bearer <key>. BERTQA_API_KEYS (comma-separated) does the same.")
    var apiKeyFile: String?

    @Flag(help: "With API keys: leave GET /metrics open.")
    var publicMetrics = false

    @Option(help: "Request logs on stderr, one line per request: text or json (--quiet: none).")
    var logFormat: LogFormat = .text

    @Flag(help: "Also log each request's questions and contexts (off by default: they may be private).")
    var logBodies = false

    @OptionGroup var precisionOption: PrecisionOption

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be positive") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let maxBatchQuestions, maxBatchQuestions < 1 { throw ValidationError("--max-batch-questions must be at least 1") }
        if maxQueue < 1 { throw ValidationError("--max-queue must be at least 1") }
        if maxWindowsPerRequest < 0 { throw ValidationError("--max-windows-per-request must be 0 (no cap) or more") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if !(readTimeout > 0) { throw ValidationError("--read-timeout must be a positive number of seconds") }
        if !(requestTimeout > 0) { throw ValidationError("--request-timeout must be a positive number of seconds") }
    }

    /// The API keys from --api-key-file and BERTQA_API_KEYS (none: the server is open).
    func apiKeys() throws -> [String] {
        var keys: [String] = []
        if let apiKeyFile {
            guard let data = FileManager.default.contents(atPath: apiKeyFile), let text = String(data: data, encoding: .utf8) else {
                throw CLIError(description: "--api-key-file \(apiKeyFile) cannot be read: give a text file of keys, one per line")
            }
            keys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            if keys.isEmpty { throw CLIError(description: "--api-key-file \(apiKeyFile) holds no key (one per line; # starts a comment)") }
        }
        if let listed = ProcessInfo.processInfo.environment["BERTQA_API_KEYS"] {
            keys += listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return keys
    }

    func run() async throws {
        verbosity.apply()
        if maxBatchQuestions != nil {
            Console.warn("--max-batch-questions is ignored: the model's passes take --batch-size windows, shared by the requests waiting")
        }
        let keys = try apiKeys()
        if keys.isEmpty && !["127.0.0.1", "::1", "localhost"].contains(host) {
            Console.warn("serving on \(host) without API keys: anyone who can reach its port can use it (--api-key-file or BERTQA_API_KEYS)")
        }
        let answerer = try precisionOption.answerer(await modelOption.folder())
        answerer.maxWindowsPerForward = batchSize
        let info = JSONValue.object([
            ("model", .string(modelOption.model)),
            ("model_type", .string(answerer.model.config.modelType.rawValue)),
            ("precision", .string(precisionOption.precision.rawValue)),
            ("max_seq_len", .int(AnswerOptions().maxSeqLength)),
            ("max_position_embeddings", .int(answerer.model.config.maxSequenceLength)),
            ("warnings", .array(answerer.loadReport.messages.map(JSONValue.string))),
            ("version", .string(BertQA.version)),
        ])
        var options = ServerOptions(host: host, port: port, maxBodyBytes: maxBodyBytes, windowsPerPass: batchSize,
                                    info: info)
        options.maxQueuedJobs = maxQueue
        options.requestTimeout = requestTimeout
        options.maxWindowsPerRequest = maxWindowsPerRequest == 0 ? nil : maxWindowsPerRequest
        options.apiKeys = keys
        options.publicMetrics = publicMetrics
        options.maxConnections = maxConnections
        options.readTimeout = readTimeout
        options.requestLog = verbosity.quiet ? nil : logFormat
        options.logBodies = logBodies
        let host = self.host
        // A port in use or a wrong host is a ServerStartError, said in the user's terms.
        try await AnswerServer.run(engine: answerer, options: options) { port in
            // Tests and scripts read this line to learn the port.
            // Written straight to fd 1 so it is not held in stdio's buffer.
            FileHandle.standardOutput.write(Data("bertqa serving on http://\(host):\(port)\n".utf8))
        }
    }
}
