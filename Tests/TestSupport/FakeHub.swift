import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A Hugging Face Hub on 127.0.0.1 for tests: the endpoints huggingface_hub and bertqa use
/// (`/api/models/<org>/<name>/revision/<rev>`, HEAD/GET `/<org>/<name>/resolve/<rev>/<file>`, LFS
/// files by redirect to `/cdn/<sha256>`), with the Hub's headers (`X-Repo-Commit`, `ETag`,
/// `X-Linked-Etag`, `X-Linked-Size`, `X-Error-Code`), Range requests, private and gated repos,
/// and transfers that can be cut or corrupted on purpose.
public final class FakeHub: Sendable {
    public struct Repo: Sendable {
        public var files: [String: Data]
        /// Files served as LFS (ETag = sha256, bytes by redirect).
        public var lfs: Set<String>
        public var commit: String
        public var branches: [String: String]
        public var isPrivate = false
        public var isGated = false

        public init(files: [String: Data], lfs: Set<String>, commit: String = String(repeating: "c0ffee12", count: 5)) {
            self.files = files
            self.lfs = lfs
            self.commit = commit
            self.branches = ["main": commit]
        }
    }

    public enum Mischief: Sendable { case cutOnce, corrupt, wrongSize }

    public struct Logged: Sendable, Equatable {
        public let method: String
        public let path: String
        public let range: String?
        public let authorization: String?
    }

    private struct State {
        var repos: [String: Repo] = [:]
        var mischief: [String: Mischief] = [:]
        var log: [Logged] = []
        var plainFiles: [String: Data] = [:]
    }

    /// The token that opens private and gated repos.
    public let token = "hf_testtoken"
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let boundPort = Mutex(0)

    public init() {}

    public var endpoint: String { "http://127.0.0.1:\(boundPort.withLock { $0 })" }
    public var log: [Logged] { state.withLock { $0.log } }

    public func add(_ repo: Repo, as id: String) { state.withLock { $0.repos[id] = repo } }
    public func misbehave(on file: String, _ mischief: Mischief) { state.withLock { $0.mischief[file] = mischief } }
    /// A file served at `/files/<name>` (not in any repository: a dataset's public URL).
    public func serve(_ data: Data, at name: String) { state.withLock { $0.plainFiles[name] = data } }
    public func clearLog() { state.withLock { $0.log.removeAll() } }

    public static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
    public static func gitBlobHash(_ data: Data) -> String {
        Insecure.SHA1.hash(data: Data("blob \(data.count)\0".utf8) + data).map { String(format: "%02x", $0) }.joined()
    }

    /// Starts listening on a free loopback port.
    public func start() async throws {
        let router = Router()
        router.get("api/models/:org/:name/revision/:revision") { request, context in
            self.record(request)
            return self.describe(try context.parameters.require("org") + "/" + context.parameters.require("name"),
                                 revision: try context.parameters.require("revision"), request: request)
        }
        for method in [HTTPRequest.Method.head, .get] {
            router.on("/:org/:name/resolve/:revision/:file", method: method) { request, context in
                self.record(request)
                return self.resolve(try context.parameters.require("org") + "/" + context.parameters.require("name"),
                                    revision: try context.parameters.require("revision"),
                                    file: try context.parameters.require("file"), request: request)
            }
        }
        router.get("cdn/:sha") { request, context in
            self.record(request)
            return self.cdn(try context.parameters.require("sha"), request: request)
        }
        router.get("files/:name") { request, context in
            self.record(request)
            let name = try context.parameters.require("name")
            guard let data = self.state.withLock({ $0.plainFiles[name] }) else { return self.error(.notFound, code: "EntryNotFound") }
            return self.bytes(data, file: name, request: request, headers: [:])
        }
        let ready = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-hub")
        logger.logLevel = .critical  // stopping it mid-connection is the point of some tests
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for await port in ready.stream {
            boundPort.withLock { $0 = port }
            break
        }
    }

    public func stop() { task.withLock { $0?.cancel() } }

    private func record(_ request: Request) {
        let entry = Logged(method: request.method.rawValue, path: request.uri.path,
                           range: request.headers[.range], authorization: request.headers[.authorization])
        state.withLock { $0.log.append(entry) }
    }

    private func repo(_ id: String, _ request: Request) -> (Repo?, Response?) {
        guard let repo = state.withLock({ $0.repos[id] }) else { return (nil, error(.notFound, code: "RepoNotFound")) }
        let authorized = request.headers[.authorization] == "Bearer \(token)"
        if repo.isPrivate && !authorized { return (nil, error(.unauthorized, code: "RepoNotFound")) }
        return (repo, nil)
    }

    private func describe(_ id: String, revision: String, request: Request) -> Response {
        let (found, refused) = repo(id, request)
        guard let repo = found else { return refused! }
        guard let commit = commit(repo, revision) else { return error(.notFound, code: "RevisionNotFound") }
        let siblings = repo.files.keys.sorted().map { "{\"rfilename\":\"\($0)\"}" }.joined(separator: ",")
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: "{\"id\":\"\(id)\",\"sha\":\"\(commit)\",\"siblings\":[\(siblings)]}")))
    }

    private func commit(_ repo: Repo, _ revision: String) -> String? {
        revision == repo.commit ? repo.commit : repo.branches[revision]
    }

    private func resolve(_ id: String, revision: String, file: String, request: Request) -> Response {
        let (found, refused) = repo(id, request)
        guard let repo = found else { return refused! }
        if repo.isGated && request.headers[.authorization] != "Bearer \(token)" {
            return error(request.headers[.authorization] == nil ? .unauthorized : .forbidden, code: "GatedRepo")
        }
        guard let commit = commit(repo, revision) else { return error(.notFound, code: "RevisionNotFound") }
        guard let data = repo.files[file] else { return error(.notFound, code: "EntryNotFound") }
        var headers: HTTPFields = [HTTPField.Name("X-Repo-Commit")!: commit]
        if repo.lfs.contains(file) {
            let sha = Self.sha256(data)
            headers[HTTPField.Name("X-Linked-Etag")!] = "\"\(sha)\""
            headers[HTTPField.Name("X-Linked-Size")!] = "\(data.count)"
            headers[.eTag] = "\"\(Self.gitBlobHash(Data(sha.utf8)))\""  // the pointer file's, as the Hub sends
            headers[.location] = "\(endpoint)/cdn/\(sha)"
            return Response(status: .found, headers: headers)
        }
        headers[.eTag] = "\"\(Self.gitBlobHash(data))\""
        return bytes(data, file: file, request: request, headers: headers)
    }

    private func cdn(_ sha: String, request: Request) -> Response {
        let found = state.withLock { state in
            state.repos.values.lazy.flatMap { repo in repo.files.filter { repo.lfs.contains($0.key) } }
                .first { Self.sha256($0.value) == sha }
        }
        guard let (file, data) = found else { return error(.notFound, code: "EntryNotFound") }
        return bytes(data, file: file, request: request, headers: [:])
    }

    /// The bytes, or the part a `Range: bytes=N-` asks for; misbehaving as told.
    private func bytes(_ data: Data, file: String, request: Request, headers: HTTPFields) -> Response {
        var headers = headers
        var body = data
        var status = HTTPResponse.Status.ok
        if let range = request.headers[.range], range.hasPrefix("bytes="), range.hasSuffix("-"),
           let start = Int(range.dropFirst(6).dropLast()) {
            guard start < data.count else { return Response(status: .rangeNotSatisfiable) }
            headers[.contentRange] = "bytes \(start)-\(data.count - 1)/\(data.count)"
            body = data.subdata(in: start..<data.count)
            status = .partialContent
        }
        if request.method == .head {
            return Response(status: status, headers: headers, body: .init(contentLength: body.count) { _ in })
        }
        let mischief = state.withLock { state -> Mischief? in
            let m = state.mischief[file]
            if m == .cutOnce { state.mischief[file] = nil }
            return m
        }
        switch mischief {
        case .cutOnce:
            // Half the bytes, then the connection drops before the promised length.
            let half = ByteBuffer(data: body.prefix(body.count / 2))
            return Response(status: status, headers: headers, body: .init(contentLength: body.count) { writer in
                try await writer.write(half)
                throw CancellationError()
            })
        case .corrupt:
            var broken = body
            if !broken.isEmpty { broken[broken.startIndex] ^= 0xFF }
            body = broken
        case .wrongSize:
            body = body.dropLast()
        case nil:
            break
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    private func error(_ status: HTTPResponse.Status, code: String) -> Response {
        Response(status: status, headers: [HTTPField.Name("X-Error-Code")!: code, .contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"\(code)\"}")))
    }
}
