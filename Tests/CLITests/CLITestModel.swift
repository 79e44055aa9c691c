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

    /// The same model without its QA head (a base checkpoint): loading it initializes the head
    /// at random and says so.
    static func headless() throws -> URL {
        let source = try folder()
        let headless = try TinyModel.temporaryFolder("bertqa-cli-headless")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "model.safetensors" {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: headless.appendingPathComponent(name))
        }
        let file = try SafetensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
        var buffers: [UnsafeMutableBufferPointer<Float>] = []
        defer { buffers.forEach { $0.deallocate() } }
        let tensors = try file.names.filter { !$0.hasPrefix("qa_outputs.") }.map { name in
            let values = try file.floats(name)
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
            _ = buffer.initialize(from: values)
            buffers.append(buffer)
            return SafetensorsWriter.Tensor(name: name, shape: try file.entry(name).shape, floats: UnsafeBufferPointer(buffer))
        }
        try SafetensorsWriter.write(tensors, to: headless.appendingPathComponent("model.safetensors"))
        return headless
    }
}
