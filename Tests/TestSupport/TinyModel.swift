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

    public static func temporaryFolder(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
