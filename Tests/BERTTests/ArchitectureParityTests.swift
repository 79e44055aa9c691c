import BERT
import Foundation
import Kernels
import TestSupport
import Training
import XCTest

/// Every architecture besides BERT against transformers 4.57 on the tiny random models of
/// Tests/Fixtures/architectures (scripts/fixtures/make_architectures.py; fp16 files, so each
/// load also upcasts): logits ≤ 1e-4 (the trainable model's sgemm path and the packed
/// inference snapshot), the loss, every gradient ≤ 1e-3 relative, and six optimizer steps as
/// HF's Trainer takes them. These fixtures are in the repository: the tests never skip.
final class ArchitectureParityTests: XCTestCase {
    static let families = ["roberta", "xlm-roberta", "electra", "distilbert", "albert", "deberta-v3"]

    static func fixture(_ family: String) -> URL {
        Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/architectures/\(family)")
    }

    func testConfigPicksTheArchitecture() throws {
        let expected: [String: ModelType] = ["roberta": .roberta, "xlm-roberta": .xlmRoberta, "electra": .electra,
                                             "distilbert": .distilbert, "albert": .albert, "deberta-v3": .debertaV2]
        for family in Self.families {
            let config = try BertConfig.load(from: Self.fixture(family).appendingPathComponent("model/config.json"))
            XCTAssertEqual(config.modelType, expected[family], family)
            XCTAssertEqual(config.hiddenSize, 32, family)
            XCTAssertEqual(config.numAttentionHeads, 4, family)
            XCTAssertEqual(config.intermediateSize, 64, family)
        }
        let albert = try BertConfig.load(from: Self.fixture("albert").appendingPathComponent("model/config.json"))
        XCTAssertEqual(albert.embeddingSize, 16)
        XCTAssertEqual(albert.numHiddenLayers, 3)
        XCTAssertEqual(albert.hiddenAct, .geluNew)
        XCTAssertTrue(albert.projectsEmbeddings)
        let roberta = try BertConfig.load(from: Self.fixture("roberta").appendingPathComponent("model/config.json"))
        XCTAssertEqual(roberta.maxSequenceLength, 512)
        XCTAssertEqual(roberta.typeVocabSize, 1)
        let deberta = try BertConfig.load(from: Self.fixture("deberta-v3").appendingPathComponent("model/config.json"))
        XCTAssertEqual(deberta.relativeAttention, BertConfig.RelativeAttention(positionBuckets: 8, maxRelativePositions: 512))
        XCTAssertFalse(deberta.positionBiasedInput)
        XCTAssertFalse(deberta.usesTokenTypes)
    }

    func testUnknownModelTypeNamesTheSupportedOnes() {
        XCTAssertThrowsError(try BertConfig(jsonData: Data(#"{"model_type": "gpt2"}"#.utf8))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("gpt2"), text)
            for type in ModelType.allCases { XCTAssertTrue(text.contains(type.rawValue), text) }
        }
    }

    func testLogitsAndLossMatchTransformers() throws {
        try forEachKernelPath {
            for family in Self.families {
                let (model, report) = try BertForQuestionAnswering.load(from: Self.fixture(family).appendingPathComponent("model"))
                XCTAssertEqual(report.newlyInitialized, [], family)
                XCTAssertEqual(report.unexpected, [], family)
                let ref = try SafetensorsFile(contentsOf: Self.fixture(family).appendingPathComponent("reference.safetensors"))
                let input = try ReferenceBatch(ref)
                let wantStart = try ref.floats("start_logits"), wantEnd = try ref.floats("end_logits")
                for snapshot in [nil, try BertInferenceModel(model)] {
                    let got = try input.run(model, snapshot: snapshot)
                    let label = "\(family) \(snapshot == nil ? "sgemm" : "packed")"
                    XCTAssertLessThanOrEqual(maxAbsDifference(got.start, wantStart), 1e-4, label)
                    XCTAssertLessThanOrEqual(maxAbsDifference(got.end, wantEnd), 1e-4, label)
                    XCTAssertEqual(got.loss, try ref.floats("loss")[0], accuracy: 1e-5, label)
                }
            }
        }
    }

    func testEveryGradientMatchesTransformers() throws {
        try forEachKernelPath {
            for family in Self.families {
                let model = try BertForQuestionAnswering.load(from: Self.fixture(family).appendingPathComponent("model")).model
                let ref = try SafetensorsFile(contentsOf: Self.fixture(family).appendingPathComponent("reference.safetensors"))
                let input = try ReferenceBatch(ref)
                let ws = try BertWorkspace(config: model.config, maxBatch: input.batch.batchSize,
                                           maxSequence: input.batch.sequenceLength, saveForBackward: true)
                try model.forward(input.batch, workspace: ws)
                _ = try model.qaLoss(startPositions: input.startPositions, endPositions: input.endPositions, workspace: ws)
                let grads = FloatBuffer(count: model.layout.totalCount)
                try model.backward(workspace: ws, gradients: grads)
                var checked = 0
                for t in model.layout.tensors {
                    let ours = Array(t.buffer(in: grads.pointer))
                    if ref.entries["grad." + t.hfName] != nil {
                        let want = try ref.floats("grad." + t.hfName)
                        // The absolute floor scales with the tensor: tiny models have tensors whose
                        // whole gradient is ~1e-7 (layer 0's query and key), which a fixed 1e-6 would
                        // pass unread. Tensors whose exact gradient is 0 are rounding noise on both
                        // sides: they keep the fixed floor.
                        let floor = zeroBySymmetry(model).contains(t.hfName) ? 1e-6 : max(1e-4 * want.map(abs).max()!, 1e-11)
                        try assertClose(ours, want, "\(family) \(t.hfName)", abs: floor)
                    } else {
                        // An embedding table: the rows the batch reaches, and zero everywhere else.
                        let rows = try ref.integers("grad_rows.\(t.hfName).ids")
                        let width = t.shape[1]
                        try assertClose(rows.flatMap { ours[$0 * width ..< ($0 + 1) * width] },
                                        try ref.floats("grad_rows." + t.hfName), "\(family) \(t.hfName) rows")
                        if t.hfName.hasSuffix("word_embeddings.weight") {
                            let reached = Set(rows)
                            let stray = (0..<t.shape[0]).filter { !reached.contains($0) }
                                .contains { ours[$0 * width ..< ($0 + 1) * width].contains { $0 != 0 } }
                            XCTAssertFalse(stray, "\(family): a word row the batch does not use has a gradient")
                        }
                    }
                    checked += 1
                }
                XCTAssertEqual(checked, model.layout.tensors.count)
            }
        }
    }

    func testSixTrainerStepsMatchTransformers() throws {
        for family in Self.families {
            let folder = Self.fixture(family)
            let model = try BertForQuestionAnswering.load(from: folder.appendingPathComponent("model")).model
            let ref = try SafetensorsFile(contentsOf: folder.appendingPathComponent("reference.safetensors"))
            let trajectory = try XCTUnwrap(try Golden.json(folder.appendingPathComponent("trajectory.json")) as? [String: Any])
            let losses = try XCTUnwrap(trajectory["losses_before_each_step"] as? [Double])
            let norms = try XCTUnwrap(trajectory["grad_norms_before_clip"] as? [Double])
            let rates = try XCTUnwrap(trajectory["learning_rates"] as? [Double])
            let noDecay = Set(try XCTUnwrap(trajectory["no_decay"] as? [String]))
            XCTAssertEqual(Set(model.layout.tensors.filter { !$0.decays }.map(\.hfName)), noDecay,
                           "\(family): the tensors without weight decay are the Trainer's")
            let input = try ReferenceBatch(ref)
            let ws = try BertWorkspace(config: model.config, maxBatch: input.batch.batchSize,
                                       maxSequence: input.batch.sequenceLength, saveForBackward: true)
            let grads = FloatBuffer(count: model.layout.totalCount)
            let optimizer = AdamW(layout: model.layout, weightDecay: 0.01)
            let schedule = LinearSchedule(baseLR: 1e-3, warmupSteps: 2, totalSteps: 6)
            for step in 0..<6 {
                try model.forward(input.batch, workspace: ws)
                let loss = try model.qaLoss(startPositions: input.startPositions, endPositions: input.endPositions,
                                            workspace: ws)
                grads.zero()
                try model.backward(workspace: ws, gradients: grads)
                let norm = clipGradientNorm(grads, layout: model.layout, maxNorm: 1.0)
                let lr = schedule.learningRate(at: step)
                XCTAssertEqual(Double(loss), losses[step], accuracy: 1e-5 * losses[step], "\(family) loss before step \(step)")
                XCTAssertEqual(Double(norm), norms[step], accuracy: 1e-5 * norms[step], "\(family) norm at step \(step)")
                XCTAssertEqual(lr, rates[step], accuracy: 1e-12)
                optimizer.update(parameters: model.parameters, gradients: grads, lr: lr)
            }
            try checkAfterSixSteps(model, ref, family: family, lrSum: Float(rates.reduce(0, +)))
        }
    }

    /// Tensors whose exact gradient is 0: the QA bias and the last LayerNorm's bias (softmax
    /// gradients sum to 0 over positions; unless ALBERT shares that LayerNorm with earlier
    /// layers) and every key bias (softmax is shift-invariant).
    private func zeroBySymmetry(_ model: BertForQuestionAnswering) -> Set<String> {
        var names: Set<String> = [model.qaOutputs.bias.hfName]
        for layer in model.encoder.layers { names.insert(layer.attention.selfAttention.key.bias.hfName) }
        if model.config.modelType != .albert, let last = model.encoder.layers.last {
            names.insert(last.output.layerNorm.bias.hfName)
        }
        return names
    }

    /// Parameters after the six steps, 1e-5 relative + 1e-6. Where the reference gradient is
    /// rounding noise (a tensor whose exact gradient is 0 by symmetry, or an element below 1e-3
    /// of its tensor's largest, which fp32 cancellation decides), Adam normalizes that noise
    /// into ±lr steps whose sign rounding decides, in torch as here: such an element must only
    /// stay within the distance Adam can move it (Σ lr), as in AdamWTrajectoryTests.
    private func checkAfterSixSteps(_ model: BertForQuestionAnswering, _ ref: SafetensorsFile, family: String,
                                    lrSum: Float) throws {
        var worst = (name: "", ratio: Float(0))
        var noiseElements = 0
        for t in model.layout.tensors {
            let ours = Array(t.buffer(in: model.parameters.pointer))
            let expected: [Float], got: [Float], gradient: [Float]
            if ref.entries["after6.param." + t.hfName] != nil {
                expected = try ref.floats("after6.param." + t.hfName)
                gradient = try ref.floats("grad." + t.hfName)
                got = ours
            } else {
                let rows = try ref.integers("grad_rows.\(t.hfName).ids"), width = t.shape[1]
                expected = try ref.floats("after6.param_rows." + t.hfName)
                gradient = try ref.floats("grad_rows." + t.hfName)
                got = rows.flatMap { ours[$0 * width ..< ($0 + 1) * width] }
            }
            XCTAssertEqual(got.count, expected.count, t.hfName)
            let symmetric = zeroBySymmetry(model).contains(t.hfName), largest = gradient.map(abs).max() ?? 0
            for i in expected.indices {
                if symmetric || abs(gradient[i]) < 1e-3 * largest {
                    noiseElements += 1
                    XCTAssertLessThanOrEqual(abs(got[i] - expected[i]), lrSum * 1.01, "\(family) \(t.hfName)[\(i)]")
                    continue
                }
                let ratio = abs(got[i] - expected[i]) / (1e-5 * abs(expected[i]) + 1e-6)
                if ratio > worst.ratio { worst = (t.hfName + "[\(i)]", ratio) }
            }
        }
        print("\(family) after 6 steps: worst parameter \(worst.name) at \(worst.ratio) of the tolerance"
            + " (\(noiseElements) elements with a noise gradient held to Σ lr)")
        XCTAssertLessThanOrEqual(worst.ratio, 1, "\(family) parameters after 6 steps: \(worst.name)")
    }

    /// What bertqa saves is what transformers saved: the same tensor names and shapes (so
    /// `from_pretrained` finds no missing or unexpected key; scripts/interop/export_for_hf_check.sh
    /// has transformers load them), a config that reads back the same, and the same values.
    func testSaveWritesWhatTransformersWrites() throws {
        for family in Self.families {
            let source = Self.fixture(family).appendingPathComponent("model")
            let model = try BertForQuestionAnswering.load(from: source).model
            let saved = try TinyModel.temporaryFolder("bertqa-save-\(family)")
            defer { try? FileManager.default.removeItem(at: saved) }
            try model.save(to: saved)
            let theirs = try SafetensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
            let ours = try SafetensorsFile(contentsOf: saved.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(ours.names, theirs.names, family)
            for name in theirs.names {
                XCTAssertEqual(try ours.entry(name).shape, try theirs.entry(name).shape, "\(family) \(name)")
                XCTAssertEqual(try ours.floats(name), try theirs.floats(name), "\(family) \(name)")
            }
            let config = try BertConfig.load(from: saved.appendingPathComponent("config.json"))
            XCTAssertEqual(config, model.config, family)
            let json = try String(contentsOf: saved.appendingPathComponent("config.json"), encoding: .utf8)
            XCTAssertTrue(json.contains("\"model_type\": \"\(model.config.modelType.rawValue)\""), json)
            XCTAssertTrue(json.contains(model.config.modelType.questionAnsweringClass), json)
        }
    }

    /// The legacy `pytorch_model.bin` each family's `save_pretrained(safe_serialization=False)`
    /// writes (fp16 here) loads through the restricted unpickler to the same parameters, bit
    /// for bit, with the same report as the safetensors file: every HF name is found in both.
    func testLegacyBinLoadsTheSameParameters() throws {
        for family in Self.families {
            let (fromSafetensors, expected) = try BertForQuestionAnswering.load(from: Self.fixture(family).appendingPathComponent("model"))
            let bin = Self.fixture(family).appendingPathComponent("model-bin")
            XCTAssertTrue(FileManager.default.fileExists(atPath: bin.appendingPathComponent("pytorch_model.bin").path), family)
            let (fromBin, report) = try BertForQuestionAnswering.load(from: bin)
            XCTAssertEqual(report, expected, family)
            XCTAssertEqual(report.newlyInitialized, [], family)
            XCTAssertEqual(fromBin.config, fromSafetensors.config, family)
            XCTAssertEqual(fromBin.parameters.buffer.map(\.bitPattern), fromSafetensors.parameters.buffer.map(\.bitPattern), family)
        }
    }

    /// DistilBERT with `sinusoidal_pos_embds`: the fixed table a fresh model builds is
    /// transformers' `create_sinusoidal_embeddings` (fixture from make_architectures.py), and it
    /// is frozen (no gradient, no optimizer state), as HF's `requires_grad = False` makes it.
    func testDistilBertSinusoidalPositionsAreTransformersTable() throws {
        var config = try BertConfig.load(from: Self.fixture("distilbert").appendingPathComponent("model/config.json"))
        config.sinusoidalPositions = true
        config.maxPositionEmbeddings = 40
        let model = try BertForQuestionAnswering(config: config, seed: 7)
        let ref = try SafetensorsFile(contentsOf: Self.fixture("distilbert").appendingPathComponent("sinusoidal.safetensors"))
        let want = try ref.floats("position_embeddings")
        guard let table = model.embeddings.positionEmbeddings else { return XCTFail("no position table") }
        XCTAssertEqual(table.shape, [40, 32])
        XCTAssertLessThanOrEqual(maxAbsDifference(Array(table.buffer(in: model.parameters.pointer)), want), 1e-7)
        XCTAssertFalse(table.trainable)
        let fresh = try BertForQuestionAnswering(config: config, seed: 8)
        XCTAssertEqual(Array(fresh.embeddings.positionEmbeddings!.buffer(in: fresh.parameters.pointer)),
                       Array(table.buffer(in: model.parameters.pointer)), "the table does not depend on the seed")
    }

    /// ALBERT's layers are one shared group: the model holds it once and its gradient is the
    /// sum over the three uses (checked against autograd above); here, that it is held once.
    func testAlbertHoldsItsSharedLayerOnce() throws {
        let model = try BertForQuestionAnswering.load(from: Self.fixture("albert").appendingPathComponent("model")).model
        XCTAssertEqual(model.encoder.layers.count, 3)
        let offsets = Set(model.encoder.layers.map { $0.attention.selfAttention.qkv.weight.offset })
        XCTAssertEqual(offsets.count, 1)
        XCTAssertEqual(model.layout.tensors.filter { $0.hfName.contains("albert_layer_groups") }.count, 16)
    }
}
