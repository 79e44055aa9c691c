import BERT
import Foundation
import TestSupport

/// A random tiny BERT QA model (hidden 32, 2 layers) saved once per test run with the
/// MiniLM tokenizer files: enough to drive the CLI and the server end to end anywhere.
enum CLITestModel {
    nonisolated(unsafe) private static var cached: URL?
    private static let lock = NSLock()

    static func folder() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let dir = try TinyModel.temporaryFolder("bertqa-cli-model")
        let config = BertConfig(vocabSize: 30522, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                intermediateSize: 64, maxPositionEmbeddings: 512)
        let model = try BertForQuestionAnswering(config: config, seed: 7)
        try model.save(to: dir)
        try TinyModel.copyTokenizer(to: dir)
        cached = dir
        return dir
    }
}
