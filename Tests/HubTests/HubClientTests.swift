import Foundation
import Hub
import TestSupport
import XCTest

/// The Hub client against a fake Hub on 127.0.0.1: the cache it writes is huggingface_hub's
/// layout, and every failure reads as one line saying what to do.
final class HubClientTests: XCTestCase {
    var hub: FakeHub!
    var cacheRoot: URL!
    let config = Data(#"{"model_type": "bert"}"#.utf8)
    let vocab = Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".utf8)
    let weights = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })

    override func setUp() async throws {
        hub = FakeHub()
        hub.add(.init(files: ["config.json": config, "vocab.txt": vocab, "model.safetensors": weights, "README.md": Data("x".utf8)],
                      lfs: ["model.safetensors"]), as: "org/model")
        try await hub.start()
        cacheRoot = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID().uuidString)")
    }

    override func tearDown() async throws {
        hub.stop()
        try? FileManager.default.removeItem(at: cacheRoot)
    }

    func client(token: String? = nil, offline: Bool = false, endpoint: String? = nil) -> HubClient {
        var settings = HubSettings(endpoint: endpoint ?? hub.endpoint, token: token, offline: offline, cache: HubCache(root: cacheRoot))
        settings.readTimeout = .seconds(2)
        settings.connectTimeout = .seconds(2)
        return HubClient(settings: settings)
    }

    let model = FileSelection.transformersModel(tokenizerFiles: ["vocab.txt", "tokenizer.json"])

    func testDownloadWritesHuggingFaceHubLayout() async throws {
        let folder = try await client().snapshot(repo: "org/model", files: model)
        let repoFolder = cacheRoot.appendingPathComponent("models--org--model")
        let commit = String(repeating: "c0ffee12", count: 5)
        XCTAssertEqual(folder.standardizedFileURL.path, repoFolder.appendingPathComponent("snapshots/\(commit)").standardizedFileURL.path)
        XCTAssertEqual(try String(contentsOf: repoFolder.appendingPathComponent("refs/main"), encoding: .utf8), commit)
        // Only the files a model needs; each a relative link to its blob, named by its ETag.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
                       ["config.json", "model.safetensors", "vocab.txt"])
        let sha = FakeHub.sha256(weights)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("model.safetensors").path),
                       "../../blobs/\(sha)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("config.json").path),
                       "../../blobs/\(FakeHub.gitBlobHash(config))")
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")), weights)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("vocab.txt")), vocab)
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") }, "\(blobs)")

        // A second run asks only for the revision's commit: the files are there.
        hub.clearLog()
        _ = try await client().snapshot(repo: "org/model", files: model)
        XCTAssertEqual(hub.log.map(\.path), ["/api/models/org/model/revision/main"])
        // Offline, the ref finds the snapshot without asking anything.
        hub.clearLog()
        let offline = try await client(offline: true).snapshot(repo: "org/model", files: model)
        XCTAssertEqual(offline, folder)
        XCTAssertEqual(hub.log, [])
    }

    func testInterruptedTransferResumesWithRange() async throws {
        hub.misbehave(on: "model.safetensors", .cutOnce)
        let folder = try await client().snapshot(repo: "org/model", files: model)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")), weights)
        let transfers = hub.log.filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(transfers.count, 2, "\(transfers)")
        XCTAssertNil(transfers[0].range)
        let resumedAt = Int(transfers[1].range?.dropFirst(6).dropLast() ?? "") ?? 0
        XCTAssertGreaterThan(resumedAt, 0, "the second GET must resume: \(transfers[1])")
    }

    func testAnIncompleteFileLeftByAnEarlierRunIsResumed() async throws {
        let sha = FakeHub.sha256(weights)
        let blobs = cacheRoot.appendingPathComponent("models--org--model/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try weights.prefix(1000).write(to: blobs.appendingPathComponent(sha + ".incomplete"))
        let folder = try await client().snapshot(repo: "org/model", files: model)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")), weights)
        XCTAssertEqual(hub.log.filter { $0.path.hasPrefix("/cdn/") }.map(\.range), ["bytes=1000-"])
    }

    func testCorruptOrShortDownloadIsNotKept() async throws {
        for mischief in [FakeHub.Mischief.corrupt, .wrongSize] {
            hub.misbehave(on: "model.safetensors", mischief)
            do {
                _ = try await client().snapshot(repo: "org/model", files: model)
                XCTFail("\(mischief) was accepted")
            } catch {
                let text = "\(error)"
                XCTAssertTrue(text.contains("model.safetensors") && text.contains("not kept"), text)
            }
            let blobs = cacheRoot.appendingPathComponent("models--org--model/blobs")
            XCTAssertFalse(FileManager.default.fileExists(atPath: blobs.appendingPathComponent(FakeHub.sha256(weights)).path))
            XCTAssertFalse(FileManager.default.fileExists(atPath: blobs.appendingPathComponent(FakeHub.sha256(weights) + ".incomplete").path))
            XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(
                atPath: cacheRoot.appendingPathComponent("models--org--model/snapshots/\(String(repeating: "c0ffee12", count: 5))/model.safetensors").path))
        }
    }

    func testPrivateRepositoryNeedsTheToken() async throws {
        var repo = FakeHub.Repo(files: ["config.json": config, "model.safetensors": weights], lfs: ["model.safetensors"])
        repo.isPrivate = true
        hub.add(repo, as: "org/private")
        await assertFails({ try await client().snapshot(repo: "org/private", files: model) }, mentioning: ["not found", "HF_TOKEN"])
        await assertFails({ try await client(token: "hf_wrong").snapshot(repo: "org/private", files: model) }, mentioning: ["not found", "no access"])
        let folder = try await client(token: hub.token).snapshot(repo: "org/private", files: model)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")), weights)
        XCTAssertTrue(hub.log.filter { !$0.path.hasPrefix("/cdn/") }.allSatisfy { $0.authorization == "Bearer \(hub.token)" || $0.authorization == "Bearer hf_wrong" || $0.authorization == nil })
    }

    func testGatedRepositorySaysToAcceptItsConditions() async throws {
        var repo = FakeHub.Repo(files: ["config.json": config, "model.safetensors": weights], lfs: ["model.safetensors"])
        repo.isGated = true
        hub.add(repo, as: "org/gated")
        await assertFails({ try await client().snapshot(repo: "org/gated", files: model) }, mentioning: ["gated", "accept", "HF_TOKEN"])
        await assertFails({ try await client(token: "hf_other").snapshot(repo: "org/gated", files: model) }, mentioning: ["gated", "token of that account"])
    }

    func testMissingRepositoryRevisionAndFile() async throws {
        await assertFails({ try await client().snapshot(repo: "org/nothing", files: model) }, mentioning: ["'org/nothing' not found", "check the id"])
        await assertFails({ try await client().snapshot(repo: "org/model", revision: "v9", files: model) }, mentioning: ["no revision 'v9'"])
        await assertFails({ try await client().snapshot(repo: "org/model", files: .files(["config.json", "spm.model"])) }, mentioning: ["has no", "org/model"])
        hub.add(.init(files: ["config.json": config], lfs: []), as: "org/noweights")
        await assertFails({ try await client().snapshot(repo: "org/noweights", files: model) }, mentioning: ["no model.safetensors or pytorch_model.bin"])
        await assertFails({ try await client().snapshot(repo: "../etc", files: model) }, mentioning: ["neither a model folder nor a Hub id"])
    }

    func testOfflineWithNothingCachedSaysWhatToDo() async throws {
        await assertFails({ try await client(offline: true).snapshot(repo: "org/model", files: model) },
                          mentioning: ["not in the Hugging Face cache", "HF_HUB_OFFLINE=1", "bertqa download org/model"])
        XCTAssertEqual(hub.log, [])
    }

    func testUnreachableHubFallsBackToTheCacheOrSaysSo() async throws {
        // A port nobody listens on.
        let closed = "http://127.0.0.1:9"
        await assertFails({ try await client(endpoint: closed).snapshot(repo: "org/model", files: model) }, mentioning: ["cannot reach the Hub", "127.0.0.1:9"])
        let folder = try await client().snapshot(repo: "org/model", files: model)
        let fallback = try await client(endpoint: closed).snapshot(repo: "org/model", files: model)
        XCTAssertEqual(fallback, folder)
    }

    func testAHubThatNeverAnswersTimesOut() async throws {
        // A listening socket that accepts and never replies.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, length) } }
        listen(fd, 8)
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        await assertFails({ try await client(endpoint: "http://127.0.0.1:\(port)").snapshot(repo: "org/model", files: model) },
                          mentioning: ["did not answer in time"])
    }

    func testFullDiskIsSaidAndNothingIsLinked() async throws {
        let blobs = cacheRoot.appendingPathComponent("models--org--model/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        // /dev/full answers every write with ENOSPC.
        try FileManager.default.createSymbolicLink(atPath: blobs.appendingPathComponent(FakeHub.sha256(weights) + ".incomplete").path,
                                                   withDestinationPath: "/dev/full")
        await assertFails({ try await client().snapshot(repo: "org/model", files: model) }, mentioning: ["no space left", "HF_HUB_CACHE"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: blobs.appendingPathComponent(FakeHub.sha256(weights)).path))
    }

    /// A cache laid out by hand as huggingface_hub writes it (a tag's ref, blobs, relative
    /// links) is used as it is, offline and online, without fetching a byte of it again.
    func testACacheWrittenInHuggingFaceHubLayoutIsUsedAsItIs() async throws {
        let commit = String(repeating: "c0ffee12", count: 5)
        let repoFolder = cacheRoot.appendingPathComponent("models--org--model")
        let snapshot = repoFolder.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repoFolder.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repoFolder.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: repoFolder.appendingPathComponent("refs/main"))
        for (name, data, etag) in [("config.json", config, FakeHub.gitBlobHash(config)), ("vocab.txt", vocab, FakeHub.gitBlobHash(vocab)),
                                   ("model.safetensors", weights, FakeHub.sha256(weights))] {
            try data.write(to: repoFolder.appendingPathComponent("blobs/\(etag)"))
            try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path, withDestinationPath: "../../blobs/\(etag)")
        }
        let offline = try await client(offline: true).snapshot(repo: "org/model", files: model)
        XCTAssertEqual(offline.standardizedFileURL.path, snapshot.standardizedFileURL.path)
        let online = try await client().snapshot(repo: "org/model", revision: commit, files: model)
        XCTAssertEqual(online.standardizedFileURL.path, snapshot.standardizedFileURL.path)
        XCTAssertEqual(hub.log.map(\.path), ["/api/models/org/model/revision/\(commit)"])
    }

    func testSettingsReadHuggingFaceHubsVariables() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("hf-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try Data("hf_fromfile\n".utf8).write(to: home.appendingPathComponent("token"))
        let fromHome = HubSettings.fromEnvironment(["HF_HOME": home.path, "HOME": "/nowhere"])
        XCTAssertEqual(fromHome.cache.root.path, home.appendingPathComponent("hub").path)
        XCTAssertEqual(fromHome.token, "hf_fromfile")
        XCTAssertEqual(fromHome.endpoint, "https://huggingface.co")
        XCTAssertFalse(fromHome.offline)
        let explicit = HubSettings.fromEnvironment(["HF_HOME": home.path, "HF_HUB_CACHE": "/tmp/elsewhere", "HF_TOKEN": "hf_env",
                                                    "HF_ENDPOINT": "http://mirror.local/", "HF_HUB_OFFLINE": "1"])
        XCTAssertEqual(explicit.cache.root.path, "/tmp/elsewhere")
        XCTAssertEqual(explicit.token, "hf_env")
        XCTAssertEqual(explicit.endpoint, "http://mirror.local")
        XCTAssertTrue(explicit.offline)
        let xdg = HubSettings.fromEnvironment(["XDG_CACHE_HOME": "/tmp/xdg"])
        XCTAssertEqual(xdg.cache.root.path, "/tmp/xdg/huggingface/hub")
    }

    func testRepoIDsAreValidatedAsHuggingFaceHubDoes() {
        for good in ["bert-base-uncased", "deepset/roberta-base-squad2", "org/model.v2", "a_b/c-d"] {
            XCTAssertTrue(HubClient.isRepoID(good), good)
        }
        for bad in ["", "/abs/path", "./here", "a/b/c", "a--b/c", "x/..", "org/name.git", "-x/y", "my model", "org/"] {
            XCTAssertFalse(HubClient.isRepoID(bad), bad)
        }
    }

    private func assertFails(_ body: () async throws -> URL, mentioning parts: [String],
                             file: StaticString = #filePath, line: UInt = #line) async {
        do {
            let url = try await body()
            XCTFail("succeeded with \(url.path)", file: file, line: line)
        } catch {
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
            for part in parts { XCTAssertTrue(text.contains(part), "'\(part)' missing from: \(text)", file: file, line: line) }
        }
    }
}
