import Foundation
import Support
import Hummingbird
import Inference
import Logging
import NIOCore

/// Settings of `bertqa serve`.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; the bound port is passed to `onReady`.
    public var port = 8080
    /// Larger request bodies get 413.
    public var maxBodyBytes = 1 << 20
    /// Most questions the model answers in one batch.
    public var maxBatchJobs = 64

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, maxBatchJobs: Int = 64) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxBatchJobs = maxBatchJobs
    }
}

/// The HTTP service: `POST /answer`, `GET /health`, `GET /metrics`.
/// Runs until SIGINT/SIGTERM, then finishes in-flight requests and returns.
public enum AnswerServer {
    public static func run(engine: any QuestionAnswering, options: ServerOptions,
                           onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let metrics = ServerMetrics()
        let batcher = Batcher(engine: engine, maxJobs: options.maxBatchJobs, metrics: metrics)
        defer { batcher.stop() }
        let router = Router()
        let maxBody = options.maxBodyBytes

        router.get("health") { _, _ -> Response in
            metrics.record(route: "/health", status: 200, seconds: 0)
            return json(.ok, "{\"status\":\"ok\"}")
        }
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.post("answer") { request, _ -> Response in
            let started = DispatchTime.now().uptimeNanoseconds
            let response = await answer(request, batcher: batcher, maxBody: maxBody)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            metrics.record(route: "/answer", status: Int(response.status.code), seconds: seconds)
            return response
        }

        var logger = Logger(label: "bertqa.server")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "bertqa"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? options.port) },
            logger: logger
        )
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    private static func answer(_ request: Request, batcher: Batcher, maxBody: Int) async -> Response {
        let body: ByteBuffer
        do {
            var request = request
            body = try await request.collectBody(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            return error(.contentTooLarge, "request body is larger than \(maxBody) bytes")
        } catch {
            return self.error(.badRequest, "could not read the request body")
        }
        let parsed: AnswerRequest
        do {
            parsed = try AnswerRequest.parse(Data(body.readableBytesView))
        } catch {
            return self.error(.badRequest, "\(error)")
        }
        let results = await batcher.answer(parsed.jobs)
        var items: [String] = []
        for (k, result) in results.enumerated() {
            switch result {
            case .success(let answers):
                items.append(answers.pipelineJSON.compactText)
            case .failure(let failure):
                let prefix = parsed.isBatch ? "inputs[\(k)]: " : ""
                let status: HTTPResponse.Status = failure is InferenceError ? .badRequest : .internalServerError
                return error(status, prefix + "\(failure)")
            }
        }
        return json(.ok, parsed.isBatch ? "[" + items.joined(separator: ",") + "]" : items[0])
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, JSONValue.object([("error", .string(message))]).compactText)
    }
}
