import Foundation
import Support
import Synchronization
import TestSupport
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `bertqa serve` started for real on a loopback port, spoken to over HTTP.
final class ServerTests: XCTestCase {
    var process: Process!
    var base: URL!

    override func setUpWithError() throws {
        (process, base) = try Self.start(model: CLITestModel.folder())
    }

    /// `bertqa serve --model MODEL --port 0` started, and the address it listens on.
    static func start(model: URL, arguments: [String] = [], environment: [String: String] = [:],
                      stderr: URL? = nil) throws -> (Process, URL) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--model", model.path, "--port", "0", "--max-body-bytes", "65536"] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        process.standardOutput = out
        if let stderr {
            FileManager.default.createFile(atPath: stderr.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: stderr)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        // The server prints "bertqa serving on http://127.0.0.1:PORT" once it listens.
        var buffer = Data()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            if let text = String(data: buffer, encoding: .utf8), let range = text.range(of: "http://") {
                let rest = text[range.lowerBound...].prefix { !$0.isNewline }
                if text[range.lowerBound...].contains("\n"), let base = URL(string: String(rest)) { return (process, base) }
            }
        }
        // A server that does not start is a failure, not a skip.
        process.terminate()
        throw ServerDidNotStart(description: "bertqa serve did not start: \(String(decoding: buffer, as: UTF8.self))")
    }

    override func tearDown() {
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func request(_ path: String, method: String = "GET", body: Data? = nil, headers: [String: String] = [:]) throws -> (Int, Data) {
        try exchange(path, method: method, body: body, headers: headers).map { ($0.0, $0.1) }.get()
    }

    /// The status, body and headers of one request to this test's server.
    func exchange(_ path: String, method: String = "GET", body: Data? = nil,
                  headers: [String: String] = [:]) throws -> Result<(Int, Data, [AnyHashable: Any]), Error> {
        try Self.exchange(base: base, path, method: method, body: body, headers: headers)
    }

    /// The status, body and headers of one request to the server at `base`.
    static func exchange(base: URL, _ path: String, method: String = "GET", body: Data? = nil,
                         headers: [String: String] = [:]) throws -> Result<(Int, Data, [AnyHashable: Any]), Error> {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        request.timeoutInterval = 120
        nonisolated(unsafe) var result: Result<(Int, Data, [AnyHashable: Any]), Error> = .failure(URLError(.unknown))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { result = .failure(error) } else {
                let http = response as? HTTPURLResponse
                result = .success((http?.statusCode ?? 0, data ?? Data(), http?.allHeaderFields ?? [:]))
            }
            done.signal()
        }.resume()
        done.wait()
        return result
    }

    /// A response header, whatever the case of its name.
    static func header(_ name: String, in headers: [AnyHashable: Any]) -> String? {
        headers.first { ($0.key as? String)?.lowercased() == name.lowercased() }?.value as? String
    }

    func post(_ json: String) throws -> (Int, Any?) {
        let (status, data) = try request("answer", method: "POST", body: Data(json.utf8))
        return (status, try? JSONSerialization.jsonObject(with: data))
    }

    func testHealthAnswerBatchAndMetrics() throws {
        XCTAssertEqual(try request("health").0, 200)
        let single = try post(#"{"inputs": {"question": "Who developed relativity?", "context": "Albert Einstein developed the theory of relativity."}}"#)
        XCTAssertEqual(single.0, 200)
        let answer = try XCTUnwrap(single.1 as? [String: Any])
        XCTAssertNotNil(answer["answer"] as? String)
        XCTAssertNotNil(answer["score"] as? Double)
        XCTAssertNotNil(answer["start"] as? Int)
        let topK = try post(#"{"inputs": {"question": "Who?", "context": "Albert Einstein developed the theory of relativity in the early 20th century."}, "parameters": {"top_k": 3, "max_answer_len": 4}}"#)
        XCTAssertEqual(topK.0, 200)
        XCTAssertEqual((topK.1 as? [Any])?.count, 3)
        let batch = try post(#"{"inputs": [{"question": "Who?", "context": "Paris is in France."}, {"question": "What?", "context": "Water boils at 100 degrees."}]}"#)
        XCTAssertEqual(batch.0, 200)
        XCTAssertEqual((batch.1 as? [Any])?.count, 2)
        let (status, metrics) = try request("metrics")
        XCTAssertEqual(status, 200)
        let text = String(decoding: metrics, as: UTF8.self)
        XCTAssertTrue(text.contains("bertqa_requests_total{route=\"/answer\",status=\"200\"} 3"), text)
        XCTAssertTrue(text.contains("bertqa_request_duration_seconds_count"))
        // The pipeline's key order, from the encoder the CLI prints with too.
        let (_, raw) = try request("answer", method: "POST", body: Data(#"{"inputs": {"question": "Who?", "context": "Ann did."}}"#.utf8))
        guard case .object(let members) = try JSONValue.parse(raw) else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["score", "start", "end", "answer"])
    }

    /// GET /info names the model and how it runs; the pipeline's call as one object (what
    /// `answer` reads on stdin) works as a body too, and an "id" comes back first.
    func testInfoAndTheFlatShapeWithAnId() throws {
        let (status, data) = try request("info")
        XCTAssertEqual(status, 200)
        let info = try JSONValue.parse(data)
        XCTAssertEqual(info["model_type"], .string("bert"))
        XCTAssertEqual(info["precision"], .string("fp32"))
        XCTAssertEqual(info["warnings"], .array([]))
        let context = "Albert Einstein developed the theory of relativity."
        let (flatStatus, flat) = try request("answer", method: "POST", body: Data(#"{"question": "Who?", "context": "\#(context)", "id": "x1", "top_k": null}"#.utf8))
        XCTAssertEqual(flatStatus, 200, String(decoding: flat, as: UTF8.self))
        guard case .object(let members) = try JSONValue.parse(flat) else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["id", "score", "start", "end", "answer"])
        let (_, envelope) = try request("answer", method: "POST", body: Data(#"{"inputs": {"question": "Who?", "context": "\#(context)"}}"#.utf8))
        XCTAssertEqual(JSONValue.object(Array(members.dropFirst())), try JSONValue.parse(envelope))
    }

    /// A request needing more windows than --max-windows-per-request gets 413 before it queues,
    /// saying how many it needs; each request's windows are in /metrics.
    func testWindowsPerRequestAreCappedAndCounted() throws {
        let (capped, address) = try Self.start(model: CLITestModel.folder(), arguments: ["--max-windows-per-request", "2"])
        defer { capped.terminate(); capped.waitUntilExit() }
        base = address
        let long = Array(repeating: "Albert Einstein developed the theory of relativity in Bern.", count: 120).joined(separator: " ")
        let (tooLarge, body) = try request("answer", method: "POST", body: Data(#"{"question": "Who?", "context": "\#(long)"}"#.utf8))
        XCTAssertEqual(tooLarge, 413)
        let message = String(decoding: body, as: UTF8.self)
        XCTAssertTrue(message.contains("windows of the model; the server takes at most 2 per request"), message)
        XCTAssertEqual(try request("answer", method: "POST", body: Data(#"{"question": "Who?", "context": "Ann did."}"#.utf8)).0, 200)
        let text = String(decoding: try request("metrics").1, as: UTF8.self)
        XCTAssertTrue(text.contains("bertqa_request_windows_count 2"), text)
        XCTAssertTrue(text.contains("bertqa_request_windows_bucket{le=\"1.0\"} 1"), text)
    }

    /// GET /openapi.json: OpenAPI 3.1 naming every route this server answers, at this release.
    func testOpenAPIDocumentNamesEveryRoute() throws {
        let (status, data) = try request("openapi.json")
        XCTAssertEqual(status, 200)
        let document = try JSONValue.parse(data)
        XCTAssertEqual(document["openapi"], .string("3.1.0"))
        XCTAssertEqual(document["info"]?["version"], try JSONValue.parse(try request("info").1)["version"])
        guard case .object(let paths)? = document["paths"] else { return XCTFail("no paths") }
        XCTAssertEqual(Set(paths.map(\.key)), ["/", "/answer", "/health", "/info", "/metrics", "/openapi.json"])
        for (path, item) in paths {
            guard case .object(let operations) = item, let method = operations.first?.key else { return XCTFail(path) }
            let (routeStatus, _) = try request(String(path.dropFirst()), method: method.uppercased(),
                                               body: method == "post" ? Data(#"{"question": "Who?", "context": "Ann did."}"#.utf8) : nil)
            XCTAssertEqual(routeStatus, 200, "\(method) \(path)")
        }
    }

    /// GET /: the page, whole in one response, that loads nothing from anywhere else (it works
    /// offline); WebPageTests use it in a browser.
    func testThePageIsOneSelfContainedFile() throws {
        let (status, data, headers) = try exchange("").get()
        XCTAssertEqual(status, 200)
        XCTAssertEqual(Self.header("Content-Type", in: headers), "text/html; charset=utf-8")
        XCTAssertTrue(Self.header("Content-Security-Policy", in: headers)?.contains("default-src 'none'") == true)
        let page = String(decoding: data, as: UTF8.self)
        for part in ["<form id=\"ask\"", "id=\"question\"", "id=\"context\"", "fetch(\"answer\"", "name=\"viewport\""] {
            XCTAssertTrue(page.contains(part), part)
        }
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import"] {
            XCTAssertFalse(page.contains(external), external)
        }
    }

    /// One log line per request on stderr: JSON with --log-format json, the client's request id
    /// kept (and sent back), what the request asked of the model, and its texts only with
    /// --log-bodies; text lines by default.
    func testRequestLogs() throws {
        let folder = try TinyModel.temporaryFolder("bertqa-server-logs")
        let question = "Who developed relativity?", context = "Albert Einstein developed the theory of relativity."
        for (arguments, bodies) in [(["--log-format", "json", "--log-bodies"], true), (["--log-format", "json"], false), ([], false)] {
            let log = folder.appendingPathComponent("stderr-\(arguments.count).txt")
            let (server, base) = try Self.start(model: CLITestModel.folder(), arguments: arguments, stderr: log)
            defer { server.terminate(); server.waitUntilExit() }
            self.base = base
            let body = Data(#"{"inputs": {"question": "\#(question)", "context": "\#(context)"}}"#.utf8)
            let (status, _, headers) = try exchange("answer", method: "POST", body: body, headers: ["X-Request-Id": "abc-123"]).get()
            XCTAssertEqual(status, 200)
            XCTAssertEqual(Self.header("X-Request-Id", in: headers), "abc-123")
            let (missing, _, missingHeaders) = try exchange("nowhere").get()
            XCTAssertEqual(missing, 404)
            let generated = try XCTUnwrap(Self.header("X-Request-Id", in: missingHeaders))
            XCTAssertEqual(generated.count, 16)
            server.terminate()
            server.waitUntilExit()
            let lines = String(decoding: try Data(contentsOf: log), as: UTF8.self).split(separator: "\n").map(String.init)
            if arguments.isEmpty {
                let line = try XCTUnwrap(lines.first { $0.contains("request_id=abc-123") }, "\(lines)")
                XCTAssertTrue(line.contains(" info request request_id=abc-123 method=POST route=/answer status=200 latency_ms="), line)
                XCTAssertTrue(line.contains(" questions=1 windows=1 passes=1 batch_windows=1"), line)
                XCTAssertTrue(lines.contains { $0.contains("request_id=\(generated)") && $0.contains("route=other status=404") }, "\(lines)")
                continue
            }
            let records = lines.compactMap { try? JSONValue.parse(Data($0.utf8)) }
            let record = try XCTUnwrap(records.first { $0["request_id"] == .string("abc-123") }, "\(lines)")
            guard case .object(let members) = record else { return XCTFail("not an object") }
            XCTAssertEqual(Array(members.map(\.key).prefix(9)), ["time", "level", "logger", "message", "request_id", "method", "route", "status", "latency_ms"])
            XCTAssertEqual(record["status"], .int(200))
            XCTAssertEqual(record["questions"], .int(1))
            XCTAssertEqual(record["windows"], .int(1))
            XCTAssertEqual(record["passes"], .int(1))
            XCTAssertNotNil(record["latency_ms"]?.number)
            XCTAssertEqual(record["question"], bodies ? .array([.string(question)]) : nil)
            XCTAssertEqual(record["context"], bodies ? .array([.string(context)]) : nil)
            XCTAssertFalse(!bodies && lines.contains { $0.contains("Einstein") }, "a text was logged without --log-bodies")
            XCTAssertTrue(records.contains { $0["request_id"] == .string(generated) && $0["status"] == .int(404) }, "\(lines)")
        }
    }

    /// A client that dribbles its request is disconnected after --read-timeout (and counted in
    /// /metrics), while others are served; beyond --max-connections, a new connection waits
    /// until one closes.
    func testSlowClientsAreDisconnectedAndConnectionsCapped() throws {
        let (server, base) = try Self.start(model: CLITestModel.folder(), arguments: ["--read-timeout", "1", "--max-connections", "3"])
        defer { server.terminate(); server.waitUntilExit() }
        self.base = base
        let port = try XCTUnwrap(base.port)
        let slow = try RawConnection(port: port)
        try slow.send("POST /answer HTTP/1.1\r\nHost: x\r\nContent-Le")
        let started = Date()
        XCTAssertEqual(try request("health").0, 200)
        XCTAssertTrue(slow.waitForClose(seconds: 5), "the slow client was not disconnected")
        let waited = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(waited, 0.8)
        XCTAssertLessThan(waited, 3)
        // Half a body, then nothing: disconnected too.
        let stalled = try RawConnection(port: port)
        try stalled.send("POST /answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"inputs\"")
        XCTAssertTrue(stalled.waitForClose(seconds: 5), "the stalled body was not disconnected")
        // Counted (with idle keep-alive connections, such as this test's own, closed alike).
        let metrics = String(decoding: try request("metrics").1, as: UTF8.self)
        let line = try XCTUnwrap(metrics.split(separator: "\n").first { $0.hasPrefix("bertqa_connections_timed_out_total ") })
        XCTAssertGreaterThanOrEqual(Int(line.split(separator: " ")[1]) ?? 0, 2, metrics)

        // Three idle connections hold every slot: a fourth is not served until one goes.
        let held = try (0 ..< 3).map { _ in try RawConnection(port: port) }
        Thread.sleep(forTimeInterval: 0.2)
        let waiting = try RawConnection(port: port)
        try waiting.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertNil(waiting.receive(seconds: 0.5), "served beyond --max-connections")
        // The held ones time out (1 s) and close; then the waiting one is served.
        XCTAssertTrue(held[0].waitForClose(seconds: 5))
        let answer = try XCTUnwrap(waiting.receive(seconds: 5), "never served after a slot freed")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
    }

    /// A checkpoint without a QA head: /info carries the warning the command line prints.
    func testInfoWarnsOfAnUntrainedHead() throws {
        let (headless, headlessBase) = try Self.start(model: CLITestModel.headless())
        defer { headless.terminate(); headless.waitUntilExit() }
        base = headlessBase
        let (status, data) = try request("info")
        XCTAssertEqual(status, 200)
        guard case .array(let warnings)? = try JSONValue.parse(data)["warnings"] else { return XCTFail(String(decoding: data, as: UTF8.self)) }
        XCTAssertEqual(warnings.count, 1)
        guard case .string(let warning)? = warnings.first else { return XCTFail() }
        XCTAssertTrue(warning.contains("newly initialized"), warning)
    }

    /// GET /answer is 405 (naming POST), an unknown path a JSON 404, and both are counted.
    func testWrongMethodsAndPathsAreJSONAndCounted() throws {
        let (status, body, headers) = try exchange("answer").get()
        XCTAssertEqual(status, 405)
        XCTAssertEqual(Self.header("Allow", in: headers), "POST")
        XCTAssertTrue(((try? JSONValue.parse(body))?["error"]).map { "\($0)".contains("POST") } ?? false, String(decoding: body, as: UTF8.self))
        let (missing, missingBody) = try request("no/such/path")
        XCTAssertEqual(missing, 404)
        XCTAssertNotNil((try? JSONValue.parse(missingBody))?["error"], String(decoding: missingBody, as: UTF8.self))
        let text = String(decoding: try request("metrics").1, as: UTF8.self)
        XCTAssertTrue(text.contains("bertqa_requests_total{route=\"/answer\",status=\"405\"} 1"), text)
        XCTAssertTrue(text.contains("bertqa_requests_total{route=\"other\",status=\"404\"} 1"), text)
    }

    /// With API keys, POST /answer and /metrics need `Authorization: Bearer <key>`: 401 with
    /// `WWW-Authenticate: Bearer` otherwise; /health stays open; --public-metrics opens /metrics.
    func testAPIKeys() throws {
        let keyFile = try TinyModel.temporaryFolder("bertqa-keys").appendingPathComponent("keys.txt")
        try Data("# keys\nfile-key\n\n".utf8).write(to: keyFile)
        let (server, address) = try Self.start(model: CLITestModel.folder(), arguments: ["--api-key-file", keyFile.path],
                                               environment: ["BERTQA_API_KEYS": "env-key-1, env-key-2"])
        defer { server.terminate(); server.waitUntilExit() }
        base = address
        let body = Data(#"{"inputs": {"question": "Who?", "context": "Ann did."}}"#.utf8)
        let (bare, bareBody, bareHeaders) = try exchange("answer", method: "POST", body: body).get()
        XCTAssertEqual(bare, 401)
        XCTAssertEqual(Self.header("WWW-Authenticate", in: bareHeaders), "Bearer")
        XCTAssertTrue(String(decoding: bareBody, as: UTF8.self).contains("Authorization: Bearer"))
        XCTAssertEqual(try request("answer", method: "POST", body: body, headers: ["Authorization": "Bearer wrong"]).0, 401)
        for key in ["file-key", "env-key-1", "env-key-2"] {
            XCTAssertEqual(try request("answer", method: "POST", body: body, headers: ["Authorization": "Bearer \(key)"]).0, 200, key)
        }
        XCTAssertEqual(try request("health").0, 200)
        XCTAssertEqual(try request("metrics").0, 401)
        XCTAssertEqual(try request("metrics", headers: ["Authorization": "Bearer file-key"]).0, 200)

        let (open, openAddress) = try Self.start(model: CLITestModel.folder(), arguments: ["--public-metrics"],
                                                 environment: ["BERTQA_API_KEYS": "k"])
        defer { open.terminate(); open.waitUntilExit() }
        base = openAddress
        XCTAssertEqual(try request("metrics").0, 200)
        XCTAssertEqual(try request("answer", method: "POST", body: body).0, 401)
    }

    func testBadRequestsGet400And413AndServerSurvives() throws {
        let cases: [(String, String)] = [
            ("{not json", "not JSON"),
            ("[1,2]", "object"),
            (#"{"inputs": {"question": "q"}}"#, "context"),
            (#"{"inputs": {"question": 5, "context": "c"}}"#, "string"),
            (#"{"inputs": {"question": "", "context": "c"}}"#, "empty"),
            (#"{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": "3"}}"#, "integer"),
            (#"{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": 0}}"#, "top_k"),
            (#"{"inputs": {"question": "q", "context": "c"}, "parameters": {"handle_impossible_answer": 1}}"#, "true or false"),
            (#"{"inputs": {"question": "q", "context": "c"}, "parameters": {"bogus": 1}}"#, "unknown"),
            (#"{"inputs": []}"#, "empty"),
        ]
        for (body, fragment) in cases {
            let (status, object) = try post(body)
            XCTAssertEqual(status, 400, body)
            let message = (object as? [String: Any])?["error"] as? String ?? ""
            XCTAssertTrue(message.contains(fragment), "\(body) → \(message)")
        }
        let huge = #"{"inputs": {"question": "q", "context": ""# + String(repeating: "x", count: 70_000) + #""}}"#
        XCTAssertEqual(try post(huge).0, 413)
        XCTAssertEqual(try request("health").0, 200)
    }

    /// All requests in flight at once: while the model runs one batch the others queue, and the
    /// next batch takes several of them, so there are fewer model batches than requests.
    func testConcurrentRequestsAreBatched() throws {
        let count = 24
        let statuses = Mutex([Int](repeating: 0, count: count))
        let group = DispatchGroup()
        for i in 0..<count {
            var request = URLRequest(url: base.appendingPathComponent("answer"))
            request.httpMethod = "POST"
            request.httpBody = Data(#"{"inputs": {"question": "What number is mentioned?", "context": "The answer is \#(i) and nothing else."}}"#.utf8)
            request.timeoutInterval = 120
            group.enter()
            URLSession.shared.dataTask(with: request) { _, response, _ in
                let status = (response as? HTTPURLResponse)?.statusCode ?? -1
                statuses.withLock { $0[i] = status }
                group.leave()
            }.resume()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success, "every request answered")
        XCTAssertEqual(statuses.withLock { $0 }, [Int](repeating: 200, count: count))
        let text = String(decoding: try request("metrics").1, as: UTF8.self)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("bertqa_model_batches_total ") }, text)
        let batches = try XCTUnwrap(Int(line.split(separator: " ").last ?? ""), String(line))
        XCTAssertGreaterThan(batches, 0)
        XCTAssertLessThan(batches, count, "\(count) concurrent requests ran in \(batches) model batches: none held two")
    }

    func testGracefulShutdownOnSIGTERM() throws {
        XCTAssertEqual(try request("health").0, 200)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }
}

struct ServerDidNotStart: Error, CustomStringConvertible {
    let description: String
}

/// A plain TCP connection, to play a client that misbehaves.
final class RawConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if fd < 0 || connected != 0 { throw ServerDidNotStart(description: "could not connect to port \(port)") }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let sent = text.utf8CString.withUnsafeBufferPointer { Foundation.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        if sent < 0 { throw ServerDidNotStart(description: "send failed") }
    }

    /// What arrives within `seconds` (nil: nothing; "" : the server closed).
    func receive(seconds: Double) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n <= 0 ? "" : String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Whether the server closes the connection within `seconds` (reading anything it sends).
    func waitForClose(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let got = receive(seconds: deadline.timeIntervalSinceNow), got.isEmpty { return true }
        }
        return false
    }
}
