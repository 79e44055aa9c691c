import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Gets a model repository's files from the Hugging Face Hub into the shared cache, as
/// `huggingface_hub.snapshot_download` does: the revision's commit and file list from
/// `/api/models/<repo>/revision/<revision>`, then per file a HEAD on `/<repo>/resolve/<commit>/<file>`
/// (relative redirects followed — renamed repos; an absolute one is the CDN's address) for
/// `X-Repo-Commit`, `X-Linked-Etag`/`ETag` and the size, then the bytes into
/// `blobs/<etag>.incomplete` (resumed with Range), checked (sha256 for LFS files, the git blob
/// hash otherwise), renamed to `blobs/<etag>` and linked from `snapshots/<commit>/<file>`.
public struct HubClient: Sendable {
    public let settings: HubSettings

    public init(settings: HubSettings = .fromEnvironment()) { self.settings = settings }

    /// The snapshot folder of `repo` at `revision` (default `main`) holding the files `selection`
    /// picks: from the cache when it has them, else downloaded. Offline, or with the Hub
    /// unreachable, a cached snapshot of that revision is used as it is.
    public func snapshot(repo: String, revision: String? = nil, files selection: FileSelection) async throws(HubError) -> URL {
        try Self.validate(repo)
        let revision = revision ?? "main"
        let cache = settings.cache
        if settings.offline {
            if let folder = cache.cachedSnapshot(repo, revision: revision) { return folder }
            throw .offlineNotCached(repo: repo, revision: revision, cache: cache.root.path)
        }
        let session = HubSession(settings: settings, repo: repo)
        do {
            let folder = try await session.snapshot(revision: revision, selection: selection)
            await session.close()
            return folder
        } catch {
            await session.close()
            switch error {
            case .network, .timeout:
                // huggingface_hub does the same: the cache answers when the Hub cannot.
                if let folder = cache.cachedSnapshot(repo, revision: revision) { return folder }
                throw error
            default:
                throw error
            }
        }
    }

    /// Any file by URL (not a repository's): into `destination.incomplete`, resumed with Range,
    /// checked against `sha256`, then renamed to `destination`. A destination that already holds
    /// those bytes is left as it is.
    public func fetch(url: String, to destination: URL, sha256: String) async throws(HubError) {
        if (try? FileHash.matching(etag: sha256, of: destination)) == sha256 { return }
        var plain = settings
        plain.endpoint = HubSession.origin(of: url)  // errors name the host asked
        plain.token = nil  // a Hub token is for the Hub only
        let session = HubSession(settings: plain, repo: url)
        do {
            try await session.download(.init(etag: sha256, size: nil, location: url), file: destination.lastPathComponent, to: destination)
            await session.close()
        } catch {
            await session.close()
            throw error
        }
    }

    /// `fetch` for callers that are not async.
    public func fetchWaiting(url: String, to destination: URL, sha256: String) throws(HubError) {
        _ = try Self.waiting { () async throws(HubError) in
            try await fetch(url: url, to: destination, sha256: sha256)
            return destination
        }
    }

    /// `snapshot` for callers that are not async (the CLI's commands, `QuestionAnswerer`).
    public func snapshotWaiting(repo: String, revision: String? = nil, files selection: FileSelection) throws(HubError) -> URL {
        try Self.waiting { () async throws(HubError) in try await snapshot(repo: repo, revision: revision, files: selection) }
    }

    /// Runs `body` on the concurrency pool and blocks this (non-pool) thread until it ends.
    private static func waiting(_ body: @escaping @Sendable () async throws(HubError) -> URL) throws(HubError) -> URL {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(HubError) { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// huggingface_hub's `validate_repo_id`: `name` or `org/name`, of letters, digits, `-`, `_`, `.`.
    public static func isRepoID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !text.contains("--"), !text.contains(".."), !text.hasSuffix(".git") else { return false }
        return parts.allSatisfy { part in
            (1...96).contains(part.count) && part.first != "-" && part.first != "." && part.last != "-" && part.last != "."
                && part.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
        }
    }

    static func validate(_ repo: String) throws(HubError) {
        guard isRepoID(repo) else { throw .invalidRepoID(repo) }
    }
}

/// Which files of a repository to fetch, from the names the Hub lists; nil when the repository
/// lacks what is needed. Index files (`*.index.json`) bring the shards they list.
public struct FileSelection: Sendable {
    public let choose: @Sendable ([String]) -> [String]?

    public init(choose: @escaping @Sendable ([String]) -> [String]?) { self.choose = choose }

    /// A transformers model: config.json, the tokenizer files it has among `tokenizerFiles`, and
    /// one set of weights — model.safetensors, else its shards, else pytorch_model.bin, else its
    /// shards (what `from_pretrained` prefers); nil without weights.
    public static func transformersModel(tokenizerFiles: [String]) -> FileSelection {
        FileSelection { names in
            let present = Set(names)
            let weights = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]
            guard let chosen = weights.first(where: present.contains) else { return nil }
            return ["config.json"] + tokenizerFiles.filter(present.contains) + [chosen]
        }
    }

    /// Exactly these files (one the repository lacks is an error naming it).
    public static func files(_ wanted: [String]) -> FileSelection {
        FileSelection { _ in wanted }
    }
}

private final class ResultBox: @unchecked Sendable {
    var result: Result<URL, HubError>?
}

/// One snapshot's conversation with the Hub: one HTTP client, closed at the end.
final class HubSession: Sendable {
    let settings: HubSettings
    let repo: String
    let http: HTTPClient

    init(settings: HubSettings, repo: String) {
        self.settings = settings
        self.repo = repo
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .init(settings.connectTimeout), read: .init(settings.readTimeout))
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func close() async { try? await http.shutdown() }

    func snapshot(revision: String, selection: FileSelection) async throws(HubError) -> URL {
        let info = try await repositoryInfo(revision: revision)
        guard var wanted = selection.choose(info.files) else { throw .noWeights(repo: repo, revision: revision) }
        let cache = settings.cache
        var k = 0
        while k < wanted.count {
            let file = wanted[k]
            try await fetch(file, commit: info.commit)
            if file.hasSuffix(".index.json") {
                let index = cache.snapshot(repo, commit: info.commit).appendingPathComponent(file)
                for shard in try Self.shards(index) where !wanted.contains(shard) { wanted.append(shard) }
            }
            k += 1
        }
        try cache.writeRef(repo, revision: revision, commit: info.commit)
        return cache.snapshot(repo, commit: info.commit)
    }

    /// The shard files a `*.index.json` lists in its `weight_map`, in first-seen order.
    static func shards(_ index: URL) throws(HubError) -> [String] {
        struct Index: Decodable { let weight_map: [String: String] }
        do {
            let map = try JSONDecoder().decode(Index.self, from: Data(contentsOf: index)).weight_map
            return Array(Set(map.values)).sorted()
        } catch {
            throw .badResponse(url: index.lastPathComponent, reason: "not a weights index (\(error))")
        }
    }

    // MARK: The revision's commit and files

    struct RepositoryInfo { let commit: String; let files: [String] }

    func repositoryInfo(revision: String) async throws(HubError) -> RepositoryInfo {
        struct Body: Decodable {
            struct Sibling: Decodable { let rfilename: String }
            let sha: String?
            let siblings: [Sibling]?
        }
        let url = "\(settings.endpoint)/api/models/\(repo)/revision/\(Self.escape(revision))"
        let response = try await send(url, method: .GET)
        let bytes = try await collect(response, url: url, limit: 16 << 20)
        guard response.status == .ok else { throw error(for: response, bytes: bytes, file: nil, revision: revision) }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(bytes.readableBytesView)), let commit = body.sha else {
            throw .badResponse(url: url, reason: "no commit (sha) in the repository's description")
        }
        return RepositoryInfo(commit: commit, files: body.siblings?.map(\.rfilename) ?? [])
    }

    // MARK: One file

    struct FileMetadata { let etag: String; let size: Int?; let location: String }

    /// Makes `snapshots/<commit>/<file>` point at the file's blob, downloading the blob unless the
    /// cache has it (another revision, or Python, may have fetched it).
    func fetch(_ file: String, commit: String) async throws(HubError) {
        let cache = settings.cache
        let pointer = cache.snapshot(repo, commit: commit).appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: pointer.path) { return }
        let metadata = try await self.metadata(file, commit: commit)
        let blob = cache.blob(repo, etag: metadata.etag)
        if !FileManager.default.fileExists(atPath: blob.path) {
            let lock = try BlobLock(cache.lockFile(repo, etag: metadata.etag))
            defer { lock.release() }
            if !FileManager.default.fileExists(atPath: blob.path) {
                try await download(metadata, file: file, to: blob)
            }
        }
        try cache.link(repo, commit: commit, file: file, etag: metadata.etag)
    }

    /// HEAD on the resolve URL at the commit; relative redirects followed, an absolute one is
    /// where the bytes are.
    func metadata(_ file: String, commit: String) async throws(HubError) -> FileMetadata {
        var url = "\(settings.endpoint)/\(repo)/resolve/\(commit)/\(Self.escape(file, keepSlashes: true))"
        for _ in 0..<5 {
            let response = try await send(url, method: .HEAD)
            let headers = response.headers
            let etag = (headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag")).map(Self.normalizeETag)
            let size = (headers.first(name: "X-Linked-Size") ?? headers.first(name: "Content-Length")).flatMap { Int($0) }
            switch response.status.code {
            case 200:
                guard let etag, !etag.isEmpty else { throw .badResponse(url: url, reason: "no ETag") }
                return FileMetadata(etag: etag, size: size, location: url)
            case 301, 302, 303, 307, 308:
                guard let location = headers.first(name: "Location") else { throw .badResponse(url: url, reason: "redirect without Location") }
                if location.hasPrefix("/") {
                    url = Self.origin(of: url) + location
                    continue
                }
                guard let etag, !etag.isEmpty else { throw .badResponse(url: url, reason: "no ETag") }
                return FileMetadata(etag: etag, size: size, location: location)
            default:
                throw error(for: response, bytes: nil, file: file, revision: commit)
            }
        }
        throw .badResponse(url: url, reason: "too many redirects")
    }

    /// GET into `<blob>.incomplete`, resuming what an earlier try left (Range), retrying a
    /// broken transfer three times, then checks size and hash and renames it into place.
    func download(_ metadata: FileMetadata, file: String, to blob: URL) async throws(HubError) {
        let partial = blob.appendingPathExtension("incomplete")
        var attempt = 0
        while true {
            do {
                try await transfer(metadata.location, file: file, to: partial, expected: metadata.size)
                break
            } catch {
                attempt += 1
                switch error {
                case .network where attempt <= 3, .timeout where attempt <= 3: continue
                default: throw error
                }
            }
        }
        settings.progress?.finish(file: file)
        let actualSize = (try? FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int) ?? -1
        if let expected = metadata.size, expected != actualSize {
            try? FileManager.default.removeItem(at: partial)
            throw .sizeMismatch(file: file, expected: expected, actual: actualSize)
        }
        if let actual = try FileHash.matching(etag: metadata.etag, of: partial), actual != metadata.etag {
            try? FileManager.default.removeItem(at: partial)
            throw .checksumMismatch(file: file, expected: metadata.etag, actual: actual)
        }
        guard rename(partial.path, blob.path) == 0 else {
            throw .cannotWrite(path: blob.path, reason: String(cString: strerror(errno)))
        }
    }

    /// One GET of `url` (following redirects) appended to `partial` from its current size.
    func transfer(_ url: String, file: String, to partial: URL, expected: Int?) async throws(HubError) {
        let writer = try BlobWriter(partial)
        defer { writer.close() }
        var offset = writer.size
        if let expected, offset == expected, offset > 0 { return }
        var current = url
        var response: HTTPClientResponse?
        for _ in 0..<5 {
            let answer = try await send(current, method: .GET, range: offset > 0 ? offset : nil)
            if [301, 302, 303, 307, 308].contains(answer.status.code), let location = answer.headers.first(name: "Location") {
                current = location.hasPrefix("/") ? Self.origin(of: current) + location : location
                continue
            }
            response = answer
            break
        }
        guard let response else { throw .badResponse(url: url, reason: "too many redirects") }
        switch response.status.code {
        case 200:
            offset = 0  // the server ignored the range: start over
        case 206:
            guard let range = response.headers.first(name: "Content-Range"), range.hasPrefix("bytes \(offset)-") else {
                throw .badResponse(url: current, reason: "resumed at the wrong offset")
            }
        case 416:
            try writer.truncate(at: 0)  // what was kept does not fit the file any more: start over
            throw .network(endpoint: settings.endpoint, reason: "range not satisfiable, restarting")
        default:
            let bytes = try? await response.body.collect(upTo: 1 << 16)
            throw error(for: response, bytes: bytes, file: file, revision: nil)
        }
        try writer.truncate(at: offset)
        let total = (response.headers.first(name: "Content-Length").flatMap { Int64($0) }).map { $0 + Int64(offset) }
            ?? expected.map { Int64($0) }
        var received = Int64(offset)
        do {
            for try await chunk in response.body {
                try writer.append(chunk)
                received += Int64(chunk.readableBytes)
                settings.progress?.update(file: file, received: received, total: total)
            }
        } catch let error as HubError {
            throw error
        } catch {
            throw classify(error, url: current)
        }
    }

    // MARK: HTTP

    func send(_ url: String, method: HTTPMethod, range: Int? = nil) async throws(HubError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "bertqa; hf_hub-compatible")
        request.headers.add(name: "Accept-Encoding", value: "identity")
        // The token goes to the Hub only, never to the CDN an LFS file redirects to.
        if let token = settings.token, Self.origin(of: url) == Self.origin(of: settings.endpoint) {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let range { request.headers.add(name: "Range", value: "bytes=\(range)-") }
        do {
            return try await http.execute(request, timeout: .hours(24))
        } catch {
            throw classify(error, url: url)
        }
    }

    func collect(_ response: HTTPClientResponse, url: String, limit: Int) async throws(HubError) -> ByteBuffer {
        do { return try await response.body.collect(upTo: limit) } catch { throw classify(error, url: url) }
    }

    func classify(_ error: any Error, url: String) -> HubError {
        if let error = error as? HubError { return error }
        let text = String(describing: error)
        if let client = error as? HTTPClientError, client == .readTimeout || client == .connectTimeout || client == .deadlineExceeded {
            return .timeout(url: url)
        }
        if text.lowercased().contains("timeout") { return .timeout(url: url) }
        return .network(endpoint: settings.endpoint, reason: text)
    }

    /// The Hub's error, by `X-Error-Code` first (what huggingface_hub reads), then by status.
    func error(for response: HTTPClientResponse, bytes: ByteBuffer?, file: String?, revision: String?) -> HubError {
        let code = response.headers.first(name: "X-Error-Code")
        let tokenSent = settings.token != nil
        let status = response.status.code
        switch (code, status) {
        case ("GatedRepo", _): return .gated(repo: repo, endpoint: settings.endpoint, tokenSent: tokenSent)
        case ("RepoNotFound", _): return .repositoryNotFound(repo: repo, endpoint: settings.endpoint, tokenSent: tokenSent)
        case ("RevisionNotFound", _): return .revisionNotFound(repo: repo, revision: revision ?? "?")
        case ("EntryNotFound", _): return .fileNotFound(repo: repo, file: file ?? "?", revision: revision ?? "?")
        case (_, 401) where !tokenSent: return .repositoryNotFound(repo: repo, endpoint: settings.endpoint, tokenSent: false)
        case (_, 401), (_, 403): return .unauthorized(repo: repo, tokenSent: tokenSent)
        case (_, 404) where file != nil: return .fileNotFound(repo: repo, file: file!, revision: revision ?? "?")
        case (_, 404): return .repositoryNotFound(repo: repo, endpoint: settings.endpoint, tokenSent: tokenSent)
        default:
            let message = bytes.map { String(decoding: $0.readableBytesView.prefix(200), as: UTF8.self) } ?? ""
            return .badResponse(url: settings.endpoint, reason: "HTTP \(status)\(message.isEmpty ? "" : ": " + message)")
        }
    }

    /// `"abc"` and `W/"abc"` → `abc`, as huggingface_hub normalizes them.
    static func normalizeETag(_ etag: String) -> String {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return url }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    static func escape(_ text: String, keepSlashes: Bool = false) -> String {
        var allowed = CharacterSet.urlPathAllowed
        if !keepSlashes { allowed.remove("/") }
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
