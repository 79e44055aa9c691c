import Foundation
import Support
import Hummingbird
import HummingbirdAuth
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
    /// Windows per pass of the model (the engine's forward batch): the requests waiting share
    /// each pass, window by window.
    public var windowsPerPass = 8
    /// Most questions waiting for the model; a request beyond gets 503 at once.
    public var maxQueuedJobs = 256
    /// Seconds a request may wait for the model; past it, 504 without reaching the model.
    public var requestTimeout = 30.0
    /// Most windows one request may need (all its questions together); beyond, 413 before it
    /// queues, so that one huge context cannot hold the model for minutes. nil: no cap.
    public var maxWindowsPerRequest: Int? = 512
    /// When not empty, `POST /answer` (and `/metrics`, unless `publicMetrics`) needs
    /// `Authorization: Bearer <one of these>`.
    public var apiKeys: [String] = []
    /// Most connections open at once; beyond, new ones wait in the listen backlog until one closes.
    public var maxConnections = 512
    /// Seconds a request's head and body may take to arrive (from the connection opening, or
    /// the previous answer on it); a slower client is disconnected.
    public var readTimeout = 10.0
    public var publicMetrics = false
    /// Request logs on stderr, one line per request (nil: none).
    public var requestLog: LogFormat? = .text
    /// Also log each request's questions and contexts (off: they may be private).
    public var logBodies = false
    /// What `GET /info` answers: the model, its precision, and what loading it found (an
    /// untrained QA head is said there as on the command line).
    public var info: JSONValue = .object([])

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, windowsPerPass: Int = 8,
                info: JSONValue = .object([])) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.windowsPerPass = windowsPerPass
        self.info = info
    }
}

/// The HTTP service: `GET /` (a page to ask questions on), `POST /answer`, `GET /health`,
/// `GET /info`, `GET /metrics`, `GET /openapi.json`.
/// Runs until SIGINT/SIGTERM, then finishes in-flight requests and returns.
public enum AnswerServer {
    public static func run(engine: any QuestionAnswering, options: ServerOptions,
                           onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let metrics = ServerMetrics()
        let batcher = Batcher(engine: engine, windowsPerPass: options.windowsPerPass, maxQueued: options.maxQueuedJobs,
                              timeout: options.requestTimeout, metrics: metrics)
        defer { batcher.stop() }
        let router = Router()
        // Every response, a 404 included, is counted in /metrics and logged, and unknown paths get JSON.
        let requestLogger = options.requestLog.map { format in
            Logger(label: "bertqa.requests") { LineLogHandler(label: $0, format: format) }
        }
        router.add(middleware: RequestMiddleware(metrics: metrics, logger: requestLogger, logBodies: options.logBodies))
        let maxBody = options.maxBodyBytes
        let keys = APIKeys(options.apiKeys)
        let metricsOpen = options.publicMetrics || keys.isEmpty

        let page = try resource("index", "html")
        router.get("/") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            // The page loads nothing from elsewhere, and may talk to this server only.
            headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: page))
        }
        router.get("health") { _, _ -> Response in json(.ok, "{\"status\":\"ok\"}") }
        let info = options.info.compactText
        router.get("info") { _, _ -> Response in json(.ok, info) }
        let openAPI = try openAPIDocument(version: options.info["version"])
        router.get("openapi.json") { _, _ -> Response in json(.ok, openAPI) }
        router.get("metrics") { request, _ -> Response in
            if !metricsOpen, let refusal = keys.refusal(request) { return refusal }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        let windowCap = options.maxWindowsPerRequest
        router.post("answer") { request, _ -> Response in
            if let refusal = keys.refusal(request) { return refusal }
            return await answer(request, batcher: batcher, engine: engine, maxBody: maxBody, maxWindows: windowCap,
                                metrics: metrics)
        }
        router.get("answer") { _, _ -> Response in
            var response = error(.methodNotAllowed, "POST a JSON body to /answer: {\"inputs\": {\"question\": \"…\", \"context\": \"…\"}}")
            response.headers[.allow] = "POST"
            return response
        }

        let format = options.requestLog ?? .text
        var logger = Logger(label: "bertqa.server") { LineLogHandler(label: $0, format: format) }
        logger.logLevel = .warning
        let readLimit = TimeAmount.nanoseconds(Int64(options.readTimeout * 1e9))
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [
                RequestReadDeadline(limit: readLimit, onClose: { metrics.recordSlowClient() }),
            ])),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "bertqa",
                                 availableConnectionsDelegate: .maximum(options.maxConnections, logger: logger)),
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

    private static func answer(_ request: Request, batcher: Batcher, engine: any QuestionAnswering, maxBody: Int,
                               maxWindows: Int?, metrics: ServerMetrics) async -> Response {
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
        // Shed before any work when the queue is already full: under overload most requests are
        // refused, and each refusal should cost the model's cores as little as possible.
        if batcher.isFull(adding: parsed.items.count) { return queueFull() }
        // Cut into windows off the event loops (tokenizing a long context takes milliseconds):
        // what the request costs, capped before it can queue.
        let jobs = parsed.items.map(\.job)
        let prepared = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: jobs.map(engine.prepare)) }
        }
        let windows = prepared.reduce(0) { $0 + $1.windowCount }
        metrics.recordWindows(windows)
        RequestNotes.current?.request(questions: jobs.count, windows: windows, bodies: jobs.map { ($0.question, $0.context) })
        if let maxWindows, windows > maxWindows {
            return error(.contentTooLarge, "this request needs \(windows) windows of the model; the server takes at most \(maxWindows) per request (--max-windows-per-request): send shorter contexts, or fewer questions at once")
        }
        let results: [Result<[Answer], Error>]
        switch await batcher.answer(prepared) {
        case .answered(let answered): results = answered
        case .queueFull:
            return queueFull()
        case .timedOut:
            return error(.gatewayTimeout, "the request waited longer than the server's request timeout for the model")
        }
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

    /// 503 with Retry-After: the queue holds --max-queue questions already.
    static func queueFull() -> Response {
        var response = error(.serviceUnavailable, "the server is at capacity: retry in a moment")
        response.headers[.retryAfter] = "1"
        return response
    }

    /// The OpenAPI 3.1 description of these routes (Resources/openapi.json), with the running
    /// release as its version.
    static func openAPIDocument(version: JSONValue?) throws -> String {
        guard case .object(var members) = try JSONValue.parse(Data(try resource("openapi", "json").readableBytesView)) else {
            throw ServerStartError(description: "the server's openapi.json is not a JSON object")
        }
        if let version, let i = members.firstIndex(where: { $0.key == "info" }), case .object(var info) = members[i].value,
           let j = info.firstIndex(where: { $0.key == "version" }) {
            info[j].value = version
            members[i].value = .object(info)
        }
        return JSONValue.object(members).compactText
    }

    /// A file the binary carries (Resources/).
    static func resource(_ name: String, _ type: String) throws -> ByteBuffer {
        guard let url = Bundle.module.url(forResource: name, withExtension: type),
              let data = FileManager.default.contents(atPath: url.path) else {
            throw ServerStartError(description: "the server's resources lack a readable \(name).\(type)")
        }
        return ByteBuffer(bytes: data)
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

    init(description: String) { self.description = description }

    init(host: String, port: Int, reason: String) {
        description = "cannot listen on \(host):\(port): the address does not resolve (\(reason))"
    }
}

/// Counts every response in /metrics by route (unknown paths as "other") and status, logs it
/// (one line: its id, route, status, latency and what it asked of the model), tags it with an
/// `X-Request-Id` (the client's, when it sent a plain one), and answers unknown paths with a
/// JSON 404.
struct RequestMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let logger: Logger?
    let logBodies: Bool
    static var routes: Set<String> { ["/", "/answer", "/health", "/info", "/metrics", "/openapi.json"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let route = Self.routes.contains(request.uri.path) ? request.uri.path : "other"
        let notes = RequestNotes()
        var response: Response
        do {
            response = try await RequestNotes.$current.withValue(notes) { try await next(request, context) }
        } catch let failure as HTTPError where failure.status == .notFound {
            response = AnswerServer.error(.notFound, "no such path: \(request.uri.path) (GET / for a page to ask on; POST /answer; GET /health, /info, /metrics, /openapi.json)")
        } catch let failure as HTTPError where failure.status == .methodNotAllowed {
            response = AnswerServer.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        // /metrics itself is not timed: scraping it should not move the latency histogram.
        metrics.record(route: route, status: Int(response.status.code), seconds: route == "/metrics" ? nil : seconds)
        let requestID = HTTPFields.requestID
        let id = Self.id(given: request.headers[requestID])
        response.headers[requestID] = id
        if let logger {
            var metadata: Logger.Metadata = ["request_id": .string(id), "method": .string("\(request.method)"),
                                             "route": .string(route), "status": .stringConvertible(Int(response.status.code)),
                                             "latency_ms": .stringConvertible((seconds * 1e4).rounded() / 10)]
            metadata.merge(notes.metadata(withBodies: logBodies)) { $1 }
            logger.log(level: response.status.code >= 500 ? .error : .info, "request", metadata: metadata)
        }
        return response
    }

    /// The client's request id when it is a plain token (letters, digits, "-", "_", ".", at most
    /// 128), else a new random one.
    static func id(given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count),
           given.utf8.allSatisfy({ $0 < 128 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber || "-_.".utf8.contains($0)) }) {
            return given
        }
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16).leftPadded(to: 16)
    }
}

extension HTTPFields {
    /// The header naming a request in logs (sent by clients and proxies, and answered).
    static var requestID: Element.Name { .init("X-Request-Id")! }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The keys `POST /answer` accepts as `Authorization: Bearer <key>`; none: open to all.
struct APIKeys: Sendable {
    private let keys: [[UInt8]]
    init(_ keys: [String]) { self.keys = keys.map { Array($0.utf8) } }
    var isEmpty: Bool { keys.isEmpty }

    /// nil when the request may go on; else the 401 to send (what is wrong, never the key).
    func refusal(_ request: Request) -> Response? {
        guard !keys.isEmpty else { return nil }
        let message: String
        if let token = request.headers.bearer?.token {
            if accepts(Array(token.utf8)) { return nil }
            message = "the API key is not valid"
        } else {
            message = "this server needs an API key: send Authorization: Bearer <key>"
        }
        var response = AnswerServer.error(.unauthorized, message)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    /// Compares with every key in time that does not depend on where (or whether) they differ.
    func accepts(_ token: [UInt8]) -> Bool {
        var matched: UInt8 = 0
        for key in keys {
            var difference: UInt8 = key.count == token.count ? 0 : 1
            for i in 0 ..< max(key.count, token.count) {
                difference |= (i < key.count ? key[i] : 0) ^ (i < token.count ? token[i] : 0)
            }
            matched |= difference == 0 ? 1 : 0
        }
        return matched == 1
    }
}
