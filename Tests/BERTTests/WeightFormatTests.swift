import BERT
import Foundation
import TestSupport
import XCTest

/// Every weight layout `from_pretrained` reads, against the same weights saved as one
/// `model.safetensors` (scripts/fixtures/make_torch_checkpoints.py): `pytorch_model.bin` (one
/// tensor a non-contiguous view), fp16 in both formats, sharded safetensors and sharded .bin, each
/// tensor bit-identical; and a hostile `.bin` whose pickle would run a command in Python.
final class WeightFormatTests: XCTestCase {
    static let root = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/checkpoints")

    /// Name → values of every tensor of a folder's weights, read as the loader reads them.
    func tensors(_ folder: String) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for file in try BertForQuestionAnswering.weightFiles(in: Self.root.appendingPathComponent(folder)) {
            for name in file.names { out[name] = try file.floats(name) }
        }
        return out
    }

    func assertSame(_ folder: String, as reference: String) throws {
        let expected = try tensors(reference), found = try tensors(folder)
        XCTAssertEqual(expected.count, 39, reference)  // 2 layers × 16 + embeddings 5 + QA head 2
        XCTAssertEqual(Set(found.keys), Set(expected.keys), folder)
        for (name, values) in expected {
            XCTAssertEqual(found[name], values, "\(folder): \(name)")
        }
    }

    func testPytorchModelBinWithAStridedTensor() throws { try assertSame("bin", as: "safetensors") }
    func testShardedSafetensors() throws { try assertSame("safetensors-sharded", as: "safetensors") }
    func testShardedBin() throws { try assertSame("bin-sharded", as: "safetensors") }
    func testHalfPrecisionBin() throws { try assertSame("bin-fp16", as: "safetensors-fp16") }

    func testModelLoadsFromBin() throws {
        let (model, report) = try BertForQuestionAnswering.load(from: Self.root.appendingPathComponent("bin"))
        XCTAssertEqual(report.newlyInitialized, [])
        XCTAssertEqual(model.config.hiddenSize, 16)
    }

    /// The pickle names `posix.system` (what `os.system` pickles as): refused by name before
    /// anything could run it, and the command it carries never ran.
    func testHostilePickleIsRefusedAndNothingRuns() throws {
        let marker = "/tmp/bertqa-hostile-pickle-ran"
        try? FileManager.default.removeItem(atPath: marker)
        XCTAssertThrowsError(try BertForQuestionAnswering.load(from: Self.root.appendingPathComponent("hostile"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("system") && text.contains("refused"), text)
            XCTAssertTrue(text.contains("pytorch_model.bin"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testBrokenBinFilesAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bad-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try Data(contentsOf: Self.root.appendingPathComponent("bin/pytorch_model.bin"))
        let bin = folder.appendingPathComponent("pytorch_model.bin")
        for (label, bytes) in [("not a zip", Data("PK? no".utf8)), ("truncated", good.prefix(good.count / 2)), ("empty", Data())] {
            try bytes.write(to: bin)
            XCTAssertThrowsError(try BertForQuestionAnswering.weightFiles(in: folder), label) { error in
                XCTAssertTrue("\(error)".contains("pytorch_model.bin"), "\(label): \(error)")
            }
        }
        try FileManager.default.removeItem(at: bin)
        try Data(#"{"weight_map": {"a": "../outside.safetensors"}}"#.utf8)
            .write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertThrowsError(try BertForQuestionAnswering.weightFiles(in: folder)) { error in
            XCTAssertTrue("\(error)".contains("not a file name in the folder"), "\(error)")
        }
    }
}
