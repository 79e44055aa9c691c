import Foundation
import Kernels
import Support

/// What loading a checkpoint found, as HF's `from_pretrained` reports it.
public struct LoadReport: Sendable, Equatable {
    /// Model tensors absent from the file and freshly initialized (only `qa_outputs.*`).
    public var newlyInitialized: [String] = []
    /// File tensors the model does not use (e.g. `pooler.*`, a masked-LM head).
    public var unexpected: [String] = []

    public init() {}

    /// HF-style warning lines for a model about to answer; empty when the checkpoint matched
    /// exactly.
    public var messages: [String] { messages(training: false) }

    /// The same, for a model about to be fine-tuned: the new weights are what training is for.
    public var trainingMessages: [String] { messages(training: true) }

    private func messages(training: Bool) -> [String] {
        var out: [String] = []
        if !newlyInitialized.isEmpty {
            let names = newlyInitialized.joined(separator: ", ")
            out.append(training
                ? "Some weights were newly initialized (not in the checkpoint): \(names); fine-tuning trains them."
                : "Some weights were newly initialized (not in the checkpoint): \(names). Train the model before using it for predictions: its answers are random.")
        }
        if !unexpected.isEmpty {
            out.append("Some checkpoint weights were not used: \(unexpected.joined(separator: ", ")).")
        }
        return out
    }
}

extension BertForQuestionAnswering {
    public static let configFileName = "config.json"
    public static let weightsFileName = "model.safetensors"
    /// Tokenizer files `save` copies along when asked, as `save_pretrained` of a pipeline would.
    public static let tokenizerFileNames = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                             "vocab.json", "merges.txt", "added_tokens.json", "spiece.model", "spm.model",
                                             "sentencepiece.bpe.model"]

    /// Loads a Hugging Face folder (`config.json` + its weights, see `weightFiles(in:)`). A
    /// missing QA head is initialized N(0, initializer_range) with zero bias from `seed` and
    /// reported.
    public static func load(from folder: URL, seed: UInt64 = 0) throws -> (model: BertForQuestionAnswering, report: LoadReport) {
        let config = try BertConfig.load(from: folder.appendingPathComponent(configFileName))
        return try load(config: config, weights: try weightFiles(in: folder), seed: seed)
    }

    /// A folder's weights as `from_pretrained` looks for them: `model.safetensors`, the shards
    /// a `model.safetensors.index.json` names, `pytorch_model.bin` (read without running its
    /// pickle), or the shards of `pytorch_model.bin.index.json`.
    public static func weightFiles(in folder: URL) throws -> [SafetensorsFile] {
        let file = { (name: String) in folder.appendingPathComponent(name) }
        let exists = { (name: String) in FileManager.default.fileExists(atPath: file(name).path) }
        if exists(weightsFileName) { return [try SafetensorsFile(contentsOf: file(weightsFileName))] }
        if exists("model.safetensors.index.json") {
            return try shards(file("model.safetensors.index.json")).map { try SafetensorsFile(contentsOf: file($0)) }
        }
        if exists("pytorch_model.bin") { return [try TorchCheckpoint.safetensors(contentsOf: file("pytorch_model.bin"))] }
        if exists("pytorch_model.bin.index.json") {
            return try shards(file("pytorch_model.bin.index.json")).map { try TorchCheckpoint.safetensors(contentsOf: file($0)) }
        }
        throw BertError.noWeights(folder: folder.path)
    }

    /// The shard files of an index (`weight_map`: tensor → file), each once, in first-use order;
    /// a shard name that leaves the folder is refused.
    static func shards(_ index: URL) throws -> [String] {
        let json: JSONValue
        do { json = try JSONValue.load(contentsOf: index) } catch {
            throw BertError.unreadableFile(path: index.path, reason: "\(error)")
        }
        guard case .object(let map)? = json["weight_map"], !map.isEmpty else {
            throw BertError.unreadableFile(path: index.path, reason: "no weight_map (tensor name → shard file)")
        }
        var files: [String] = []
        for (tensor, value) in map {
            guard case .string(let name) = value, !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
                throw BertError.unreadableFile(path: index.path, reason: "weight_map[\"\(tensor)\"] is not a file name in the folder")
            }
            if !files.contains(name) { files.append(name) }
        }
        return files
    }

    /// Builds a model from `config` and one or more safetensors files (later files override
    /// earlier ones, e.g. a base model then a separately saved QA head).
    public static func load(config: BertConfig, weights files: [SafetensorsFile], seed: UInt64 = 0) throws
        -> (model: BertForQuestionAnswering, report: LoadReport) {
        let model = try BertForQuestionAnswering(config: config, uninitialized: ())
        var report = LoadReport()
        var loaded = Set<String>()
        for file in files {
            let result = try model.loadTensors(from: file)
            loaded.formUnion(result.loaded)
            report.unexpected.append(contentsOf: result.unexpected)
        }
        var rng = SeededGenerator(seed: seed)
        for t in model.layout.tensors where !loaded.contains(t.name) {
            guard t.name.hasPrefix("qa_outputs.") else {
                throw BertError.missingTensor(name: t.hfName, file: files.map(\.path).joined(separator: ", "))
            }
            model.initialize(t, rng: &rng)
            report.newlyInitialized.append(t.hfName)
        }
        report.unexpected = Array(Set(report.unexpected).subtracting(loaded)).sorted()
        return (model, report)
    }

    /// Buffers the embeddings of every family register (`position_ids`, `token_type_ids`) that
    /// older checkpoints saved: this model computes them, and `from_pretrained` does not report
    /// a model buffer as unexpected, so neither does the loader.
    static let embeddingBuffers: Set<String> = ["embeddings.position_ids", "embeddings.token_type_ids"]

    /// Copies every tensor of `file` that the model has into the parameter buffer (converting
    /// F16/BF16), checking shapes. Returns the model names loaded and the file names unused.
    public func loadTensors(from file: SafetensorsFile) throws -> (loaded: [String], unexpected: [String]) {
        var loaded: [String] = [], unexpected: [String] = []
        for name in file.names {
            let modelName = layout.modelName(ofFileTensor: name)
            if Self.embeddingBuffers.contains(modelName) { continue }
            guard let t = layout[modelName] else {
                unexpected.append(name)
                continue
            }
            let entry = try file.entry(name)
            guard entry.shape == t.shape else {
                throw BertError.shapeMismatch(tensor: name, expected: t.shape, found: entry.shape, file: file.path)
            }
            try file.copyFloats(name, into: t.buffer(in: parameters.pointer))
            loaded.append(modelName)
        }
        return (loaded, unexpected)
    }

    /// Writes `config.json` and `model.safetensors` with HF's names (the base model's prefix, as
    /// the family's `…ForQuestionAnswering.save_pretrained` does), each atomically, creating `folder`;
    /// copies `auxiliaryFiles` (e.g. tokenizer files) beside them.
    public func save(to folder: URL, auxiliaryFiles: [URL] = []) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw BertError.writeFailed(path: folder.path, reason: "\(error)")
        }
        try AtomicWrite.write(config.jsonData(), to: folder.appendingPathComponent(Self.configFileName))
        let base = parameters.pointer
        let tensors = layout.tensors.map { t in
            SafetensorsWriter.Tensor(name: t.hfName, shape: t.shape, floats: UnsafeBufferPointer(t.buffer(in: base)))
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(Self.weightsFileName))
        for source in auxiliaryFiles {
            let data: Data
            do { data = try Data(contentsOf: source) } catch {
                throw BertError.unreadableFile(path: source.path, reason: "\(error)")
            }
            try AtomicWrite.write(data, to: folder.appendingPathComponent(source.lastPathComponent))
        }
    }

    /// A zeroed model whose parameters the caller fills.
    convenience init(config: BertConfig, uninitialized: Void) throws {
        try self.init(config: config, seed: nil)
    }
}
