import ArgumentParser
import Foundation
import Inference
import Server

/// `bertqa serve`: the HTTP API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over HTTP: POST /answer, GET /health, GET /metrics.",
        discussion: """
        POST /answer takes the Hugging Face Inference API schema:
          {"inputs": {"question": Q, "context": C}, "parameters": {"top_k": 1, "doc_stride": 128,
           "max_answer_len": 15, "max_seq_len": 384, "handle_impossible_answer": false, "align_to_words": true}}
        and answers {"answer", "score", "start", "end"} (a list when top_k > 1). "inputs" may be a list.
        Concurrent requests are batched for the model. SIGINT/SIGTERM shut down gracefully.
        """
    )

    @Option(help: ArgumentHelp(modelHelp))
    var model: String

    @OptionGroup var revisionOption: RevisionOption

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(parsing: .unconditional, help: "Largest request body in bytes; larger ones get 413.")
    var maxBodyBytes = 1 << 20

    @Option(parsing: .unconditional, help: "Most questions per model batch.")
    var maxBatch = 64

    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be positive") }
        if maxBatch < 1 { throw ValidationError("--max-batch must be at least 1") }
    }

    func run() async throws {
        let answerer = try precisionOption.answerer(await revisionOption.folder(model))
        let options = ServerOptions(host: host, port: port, maxBodyBytes: maxBodyBytes, maxBatchJobs: maxBatch)
        let host = self.host
        try await AnswerServer.run(engine: answerer, options: options) { port in
            // Tests and scripts read this line to learn the port.
            // Written straight to fd 1 so it is not held in stdio's buffer.
            FileHandle.standardOutput.write(Data("bertqa serving on http://\(host):\(port)\n".utf8))
        }
    }
}
