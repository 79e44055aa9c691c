import Foundation

/// A random tiny BERT QA model folder made at test time (config + weights by the BERT module's
/// writer, tokenizer files from Tests/Fixtures), so model-level tests run without ../shared.
public enum TinyModel {
    /// Copies the fixture tokenizer files into `folder`.
    public static func copyTokenizer(to folder: URL) throws {
        let source = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm-tokenizer")
        for name in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            let target = folder.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: target)
        }
    }

    /// The tiny model of another family (Tests/Fixtures/architectures/`family`, made by
    /// scripts/fixtures/make_architectures.py) with the fixture tokenizer its TOKENIZER file
    /// names, copied into a new temporary folder as a user's model folder. Their encoders have
    /// no dropout (hidden and attention dropout 0), so training on them is the same on any split.
    public static func architectureFixture(_ family: String) throws -> URL {
        let fixture = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/architectures/\(family)")
        let tokenizer = try String(contentsOf: fixture.appendingPathComponent("TOKENIZER"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let folder = try temporaryFolder("bertqa-\(family)")
        for source in [fixture.appendingPathComponent("model"),
                       Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/tokenizers/\(tokenizer)")] {
            for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
                try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
        }
        return folder
    }

    /// A new empty folder under the temporary directory, removed with everything in it when
    /// the test process exits (tests that share one, or hand it to a child process, need not
    /// remember to; a test may still remove it earlier).
    public static func temporaryFolder(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        TemporaryFolders.removeAtExit(dir)
        return dir
    }
}

/// The folders `TinyModel.temporaryFolder` made, removed by an `atexit` handler.
private enum TemporaryFolders {
    nonisolated(unsafe) static var paths: [String] = []
    static let lock = NSLock()
    static let registered: Void = { atexit { TemporaryFolders.removeAll() } }()

    static func removeAtExit(_ url: URL) {
        lock.lock()
        defer { lock.unlock() }
        _ = registered
        paths.append(url.path)
    }

    static func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
        paths.removeAll()
    }
}
