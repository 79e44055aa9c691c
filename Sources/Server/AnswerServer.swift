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
    /// What `GET /info` answers: the model, its precision, and what loading it found (an
    /// untrained QA head is said there as on the command line).
    public var info: JSONValue = .object([])

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, maxBatchJobs: Int = 64,
                info: JSONValue = .object([])) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxBatchJobs = maxBatchJobs
        self.info = info
    }
}

/// The HTTP service: `POST /answer`, `GET /health`, `GET /info`, `GET /metrics`.
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
        let info = options.info.compactText
        router.get("info") { _, _ -> Response in
            metrics.record(route: "/info", status: 200, seconds: 0)
            return json(.ok, info)
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
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch let error as IOError {
            throw ServerStartError(host: options.host, port: options.port, errno: error.errnoCode)
        } catch let error as SocketAddressError {
            throw ServerStartError(host: options.host, port: options.port, reason: "\(error)")
        }
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
        } catch let failure as AnswerRequestError {
            return json(.badRequest, AnswerRequest.errorJSON(failure.description, id: failure.id).compactText)
        } catch {
            return self.error(.badRequest, "\(error)")
        }
        let results = await batcher.answer(parsed.items.map(\.job))
        var items: [String] = []
        for (k, (result, item)) in zip(results, parsed.items).enumerated() {
            switch result {
            case .success(let answers):
                items.append(AnswerRequest.json(answers, id: item.id).compactText)
            case .failure(let failure):
                let prefix = parsed.isBatch ? "inputs[\(k)]: " : ""
                let status: HTTPResponse.Status = failure is InferenceError ? .badRequest : .internalServerError
                return json(status, AnswerRequest.errorJSON(prefix + "\(failure)", id: item.id).compactText)
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

/// The server could not listen where it was asked to, said in the user's terms.
public struct ServerStartError: Error, CustomStringConvertible {
    public let description: String

    init(host: String, port: Int, errno: Int32) {
        switch errno {
        case EADDRINUSE:
            description = "port \(port) on \(host) is already in use by another program: stop it, or choose another with --port (0 picks a free one)"
        case EADDRNOTAVAIL:
            description = "cannot listen on \(host): it is not an address of this machine (127.0.0.1: this machine only; 0.0.0.0: every interface)"
        case EACCES:
            description = "port \(port) needs more privileges than this user has: choose a port above 1023"
        default:
            description = "cannot listen on \(host):\(port): \(String(cString: strerror(errno)))"
        }
    }

    init(host: String, port: Int, reason: String) {
        description = "cannot listen on \(host):\(port): the address does not resolve (\(reason))"
    }
}
