import BERT
import Foundation
import Kernels
import Support
import TestSupport
import XCTest

/// Loading and saving Hugging Face checkpoints: names, round trips, reports and errors.
final class CheckpointTests: XCTestCase {
    static let small = BertConfig(
        vocabSize: 120, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64,
        maxPositionEmbeddings: 40, typeVocabSize: 2)

    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("bert-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func bits(_ model: BertForQuestionAnswering) -> [UInt32] {
        model.parameters.buffer.map(\.bitPattern)
    }

    func testSaveThenLoadIsBitIdenticalWithHFNames() throws {
        let model = try BertForQuestionAnswering(config: Self.small, seed: 3)
        try model.save(to: folder)
        let (loaded, report) = try BertForQuestionAnswering.load(from: folder)
        XCTAssertEqual(report, LoadReport())
        XCTAssertEqual(loaded.config, model.config)
        XCTAssertEqual(bits(loaded), bits(model))
        let names = try SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")).names
        XCTAssertTrue(names.contains("bert.embeddings.word_embeddings.weight"))
        XCTAssertTrue(names.contains("bert.encoder.layer.1.attention.self.query.weight"))
        XCTAssertTrue(names.contains("qa_outputs.weight"))
        XCTAssertEqual(names.count, model.layout.tensors.count)
        XCTAssertFalse(names.contains { $0.hasPrefix("bert.qa_outputs") || $0.contains("qkv") })
    }

    /// transformers' own tiny checkpoint: load → save gives the same tensor names HF wrote,
    /// and load → save → load is bit-identical.
    func testTinyBertRoundTripKeepsHFNames() throws {
        guard let source = Golden.file("golden/tiny-bert/model") else {
            throw XCTSkip(Golden.skipMessage("golden/tiny-bert/model"))
        }
        let (model, _) = try BertForQuestionAnswering.load(from: source)
        try model.save(to: folder, auxiliaryFiles: [source.appendingPathComponent("vocab.txt")])
        let hfNames = try SafetensorsFile(contentsOf: source.appendingPathComponent("model.safetensors")).names
        let ourNames = try SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")).names
        XCTAssertEqual(ourNames, hfNames)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("vocab.txt").path))
        let (again, report) = try BertForQuestionAnswering.load(from: folder)
        XCTAssertEqual(report, LoadReport())
        XCTAssertEqual(bits(again), bits(model))
    }

    func testConfigAndWeightsShapeMismatchNamesTheTensor() throws {
        try BertForQuestionAnswering(config: Self.small, seed: 1).save(to: folder)
        var other = Self.small
        other.intermediateSize = 48
        try AtomicFile.write(other.jsonData(), to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try BertForQuestionAnswering.load(from: folder)) { error in
            guard case .shapeMismatch(let tensor, let expected, let found, _)? = error as? BertError else {
                return XCTFail("expected shapeMismatch, got \(error)")
            }
            XCTAssertEqual(tensor, "bert.encoder.layer.0.intermediate.dense.bias")
            XCTAssertEqual(expected, [48])
            XCTAssertEqual(found, [64])
        }
    }

    /// Writes the saved model's tensors minus those `drop` rejects, renamed, as F32 or BF16.
    private func rewriteWeights(dtype: SafetensorsDType = .F32, rename: (String) -> String = { $0 },
                                drop: (String) -> Bool) throws {
        let url = folder.appendingPathComponent("model.safetensors")
        let st = try SafetensorsFile(contentsOf: url)
        var payloads: [(String, [Int], [UInt8])] = []
        for name in st.names where !drop(name) {
            let values = try st.floats(name)
            var bytes: [UInt8] = []
            for v in values {
                let b = v.bitPattern
                if dtype == .BF16 {
                    bytes += [UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
                } else {
                    bytes += [UInt8(b & 0xFF), UInt8((b >> 8) & 0xFF), UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
                }
            }
            payloads.append((rename(name), try st.entry(name).shape, bytes))
        }
        try withRawBuffers(payloads.map(\.2)) { buffers in
            let tensors = zip(payloads, buffers).map { p, b in
                SafetensorsWriter.Tensor(name: p.0, dtype: dtype, shape: p.1, bytes: b)
            }
            try SafetensorsWriter.write(tensors, to: url)
        }
    }

    private func withRawBuffers(_ arrays: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> Void) throws {
        let storage = arrays.map { bytes -> UnsafeMutableRawBufferPointer in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            p.copyBytes(from: bytes)
            return p
        }
        defer { storage.forEach { $0.deallocate() } }
        try body(zip(storage, arrays).map { UnsafeRawBufferPointer(rebasing: $0[0..<$1.count]) })
    }

    func testMissingQAHeadIsInitializedFromSeedAndReported() throws {
        let model = try BertForQuestionAnswering(config: Self.small, seed: 1)
        try model.save(to: folder)
        try rewriteWeights { $0.hasPrefix("qa_outputs.") }
        let (a, report) = try BertForQuestionAnswering.load(from: folder, seed: 7)
        let (b, _) = try BertForQuestionAnswering.load(from: folder, seed: 7)
        let (c, _) = try BertForQuestionAnswering.load(from: folder, seed: 8)
        XCTAssertEqual(report.newlyInitialized, ["qa_outputs.weight", "qa_outputs.bias"])
        XCTAssertFalse(report.messages.isEmpty)
        let w = a.qaOutputs.weight.buffer(in: a.parameters.pointer)
        XCTAssertEqual(Array(w), Array(b.qaOutputs.weight.buffer(in: b.parameters.pointer)))
        XCTAssertNotEqual(Array(w), Array(c.qaOutputs.weight.buffer(in: c.parameters.pointer)))
        XCTAssertEqual(Array(a.qaOutputs.bias.buffer(in: a.parameters.pointer)), [0, 0])
        let std = (w.reduce(0) { $0 + Double($1 * $1) } / Double(w.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.01)
        // The encoder came from the file unchanged.
        let emb = model.embeddings.wordEmbeddings
        XCTAssertEqual(Array(emb.buffer(in: a.parameters.pointer)), Array(emb.buffer(in: model.parameters.pointer)))
    }

    func testMissingEncoderTensorIsAnError() throws {
        try BertForQuestionAnswering(config: Self.small, seed: 1).save(to: folder)
        try rewriteWeights { $0 == "bert.encoder.layer.1.output.dense.weight" }
        XCTAssertThrowsError(try BertForQuestionAnswering.load(from: folder)) { error in
            guard case .missingTensor(let name, _)? = error as? BertError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "bert.encoder.layer.1.output.dense.weight")
        }
    }

    func testBF16CheckpointLoadsAsTruncatedFloats() throws {
        let model = try BertForQuestionAnswering(config: Self.small, seed: 2)
        try model.save(to: folder)
        try rewriteWeights(dtype: .BF16) { _ in false }
        let (loaded, _) = try BertForQuestionAnswering.load(from: folder)
        let expected = model.parameters.buffer.map { $0.bitPattern & 0xFFFF_0000 }
        XCTAssertEqual(bits(loaded), expected)
    }

    /// Early checkpoints ported from TensorFlow name LayerNorm's parameters gamma and beta;
    /// `from_pretrained` renames them, and so does the loader: nothing missing or unused.
    func testLegacyGammaBetaNamesLoad() throws {
        let model = try BertForQuestionAnswering(config: Self.small, seed: 4)
        try model.save(to: folder)
        try rewriteWeights(rename: {
            $0.replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")
                .replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")
        }) { _ in false }
        let names = try SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")).names
        XCTAssertTrue(names.contains("bert.embeddings.LayerNorm.gamma"))
        XCTAssertFalse(names.contains { $0.hasSuffix("LayerNorm.weight") })
        let (loaded, report) = try BertForQuestionAnswering.load(from: folder)
        XCTAssertEqual(report, LoadReport())
        XCTAssertEqual(bits(loaded), bits(model))
    }

    /// Older checkpoints carry the embeddings' `position_ids` buffer (int64): used silently, as
    /// `from_pretrained` does; a pooler the QA model lacks is reported as unused.
    func testSavedBuffersAreNotReportedButThePoolerIs() throws {
        let model = try BertForQuestionAnswering(config: Self.small, seed: 5)
        try model.save(to: folder)
        let extra = folder.appendingPathComponent("extra.safetensors")
        let positions = (0..<Int64(Self.small.maxPositionEmbeddings)).flatMap { i in withUnsafeBytes(of: i.littleEndian, Array.init) }
        let pooler = [UInt8](repeating: 0, count: 32 * 32 * 4)
        try withRawBuffers([positions, pooler]) { b in
            try SafetensorsWriter.write([
                .init(name: "bert.embeddings.position_ids", dtype: .I64, shape: [1, Self.small.maxPositionEmbeddings], bytes: b[0]),
                .init(name: "bert.pooler.dense.weight", dtype: .F32, shape: [32, 32], bytes: b[1]),
            ], to: extra)
        }
        let files = try BertForQuestionAnswering.weightFiles(in: folder) + [try SafetensorsFile(contentsOf: extra)]
        let (loaded, report) = try BertForQuestionAnswering.load(config: model.config, weights: files)
        XCTAssertEqual(report.unexpected, ["bert.pooler.dense.weight"])
        XCTAssertEqual(report.newlyInitialized, [])
        XCTAssertEqual(bits(loaded), bits(model))
    }

    func testMissingFilesAndCorruptWeights() throws {
        XCTAssertThrowsError(try BertForQuestionAnswering.load(from: folder)) { error in
            XCTAssertEqual(error as? BertError, .fileNotFound(path: folder.appendingPathComponent("config.json").path))
        }
        try AtomicFile.write(Self.small.jsonData(), to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try BertForQuestionAnswering.load(from: folder)) { error in
            XCTAssertEqual(error as? BertError, .noWeights(folder: folder.path))
        }
        try AtomicFile.write(Data([200, 0, 0, 0, 0, 0, 0, 0, 123]), to: folder.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try BertForQuestionAnswering.load(from: folder)) { error in
            guard case .headerLengthOutOfRange? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
    }

    func testConfigErrorsNameTheField() throws {
        XCTAssertThrowsError(try BertConfig(jsonData: Data(#"{"hidden_size": "big"}"#.utf8))) { error in
            guard case .invalidConfig(_, "hidden_size", _)? = error as? BertError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try BertConfig(jsonData: Data(#"{"hidden_act": "swish"}"#.utf8))) { error in
            XCTAssertEqual(error as? BertError, .unsupportedConfig(field: "hidden_act", value: "swish"))
        }
        XCTAssertThrowsError(try BertConfig(jsonData: Data(#"{"hidden_size": 100, "num_attention_heads": 12}"#.utf8))) { error in
            guard case .invalidConfig(_, "num_attention_heads", _)? = error as? BertError else { return XCTFail("\(error)") }
        }
        let parsed = try BertConfig(jsonData: Self.small.jsonData())
        XCTAssertEqual(parsed, Self.small)
        XCTAssertEqual(try BertConfig(jsonData: Data(#"{"hidden_act": "gelu_new"}"#.utf8)).hiddenAct, .geluNew)
    }
}
