import BERT
import Foundation
import Kernels
import SQuAD
import TestSupport
import Tokenization
import Training
import XCTest

/// The trainer on a random tiny BERT and real SQuAD windows (the demo's sample, shipped in the
/// repository): determinism, exact resumption from checkpoints, NaN handling, and padding.
final class TrainerTests: XCTestCase {
    static let config = BertConfig(vocabSize: 30522, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                   intermediateSize: 64, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1,
                                   maxPositionEmbeddings: 512)

    static let features: [TrainingFeature] = {
        let root = Golden.repositoryRoot
        let tokenizer = try! BertTokenizer(directory: root.appendingPathComponent("Tests/Fixtures/minilm-tokenizer"))
        let data = try! SQuADDataset.load(root.appendingPathComponent("Tests/Fixtures/squad/sample-train.json")).prefix(40)
        return try! FeatureBuilder(tokenizer: tokenizer, options: FeatureOptions(maxLength: 128, stride: 32))
            .trainingFeatures(data.examples)
    }()

    func options() -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 2
        o.batchSize = 8
        o.maxLength = 128
        o.stride = 32
        o.learningRate = 1e-3
        o.loggingSteps = 2
        o.seed = 11
        return o
    }

    func freshModel() throws -> BertForQuestionAnswering { try BertForQuestionAnswering(config: Self.config, seed: 5) }

    func parameters(_ model: BertForQuestionAnswering) -> [Float] { Array(model.parameters.buffer) }

    func train(_ options: TrainingOptions, output: URL, stopAfter: Int? = nil, resume: URL? = nil,
               model: BertForQuestionAnswering? = nil) throws -> (BertForQuestionAnswering, TrainerState) {
        let model = try model ?? freshModel()
        let trainer = try Trainer(model: model, train: Self.features, validation: Array(Self.features.prefix(8)),
                                  options: options, output: output, padId: 0)
        trainer.stopAfterSteps = stopAfter
        let state = try trainer.run(resume: resume)
        return (model, state)
    }

    func testSameSeedIsBitIdenticalAndLossFalls() throws {
        let (a, stateA) = try train(options(), output: try TinyModel.temporaryFolder("bertqa-train-a"))
        // The second run with another thread keeping a core busy: the load must not move a bit.
        let (b, _) = try withBusyCore { try train(options(), output: try TinyModel.temporaryFolder("bertqa-train-b")) }
        XCTAssertEqual(parameters(a), parameters(b), "same seed must give bit-identical parameters, whatever the load")
        let losses = stateA.logHistory.compactMap(\.loss)
        XCTAssertGreaterThan(losses.count, 2)
        XCTAssertLessThan(losses.last!, losses.first!, "training loss should fall: \(losses)")
        XCTAssertEqual(stateA.logHistory.compactMap(\.evalLoss).count, 2, "a validation loss per epoch")
        var other = options()
        other.seed = 12
        let (c, _) = try train(other, output: try TinyModel.temporaryFolder("bertqa-train-c"))
        XCTAssertNotEqual(parameters(a), parameters(c))
    }

    func testResumeFromCheckpointEndsBitIdentical() throws {
        var o = options()
        o.saveSteps = 3
        let full = try TinyModel.temporaryFolder("bertqa-train-full")
        let (uninterrupted, finalState) = try train(o, output: full)
        let partial = try TinyModel.temporaryFolder("bertqa-train-partial")
        _ = try train(o, output: partial, stopAfter: 4)       // checkpoint at step 3, then "crash" after 4
        let latest = try XCTUnwrap(Checkpoints.latest(in: partial))
        XCTAssertTrue(latest.lastPathComponent == "checkpoint-3", latest.path)
        let (resumed, resumedState) = try train(o, output: partial, resume: latest)
        XCTAssertEqual(resumedState.step, finalState.step)
        XCTAssertEqual(parameters(resumed), parameters(uninterrupted), "resumed run must end with the same weights")
        // A checkpoint folder is a complete Hugging Face model folder; old ones are pruned.
        let newest = try XCTUnwrap(Checkpoints.latest(in: partial))
        XCTAssertNoThrow(try BertForQuestionAnswering.load(from: newest))
        XCTAssertEqual(Checkpoints.complete(in: partial).count, o.saveTotalLimit)
        // Leftovers of an interrupted write are never taken as the latest checkpoint.
        try FileManager.default.createDirectory(at: Checkpoints.folder(partial).appendingPathComponent("checkpoint-999.partial-1"),
                                                withIntermediateDirectories: true)
        XCTAssertNotEqual(Checkpoints.latest(in: partial)?.lastPathComponent, "checkpoint-999.partial-1")
    }

    func testNonFiniteLossStopsWithClearErrorAndKeepsCheckpoint() throws {
        var o = options()
        o.saveSteps = 2
        let output = try TinyModel.temporaryFolder("bertqa-train-nan")
        let model = try freshModel()
        let trainer = try Trainer(model: model, train: Self.features, validation: [], options: o, output: output, padId: 0)
        trainer.stopAfterSteps = 2
        try trainer.run()
        let good = try XCTUnwrap(Checkpoints.latest(in: output))
        let before = try Data(contentsOf: good.appendingPathComponent("model.safetensors"))
        // Poison the weights: the next forward gives a NaN loss.
        model.parameters.buffer.update(repeating: .nan)
        let again = try Trainer(model: model, train: Self.features, validation: [], options: o, output: output, padId: 0)
        XCTAssertThrowsError(try again.run()) { error in
            guard case TrainingError.nonFiniteLoss = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("checkpoint"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: good.appendingPathComponent("model.safetensors")), before)
    }

    func testDynamicPaddingMatchesFixedPadding() throws {
        var fixed = options()
        fixed.dynamicPadding = false
        fixed.groupByLength = false
        fixed.epochs = 1
        var dynamic = fixed
        dynamic.dynamicPadding = true
        let (a, stateA) = try train(fixed, output: try TinyModel.temporaryFolder("bertqa-train-fixed"), stopAfter: 3)
        let (b, stateB) = try train(dynamic, output: try TinyModel.temporaryFolder("bertqa-train-dyn"), stopAfter: 3)
        let la = stateA.logHistory.compactMap(\.loss), lb = stateB.logHistory.compactMap(\.loss)
        XCTAssertEqual(la.count, lb.count)
        for (x, y) in zip(la, lb) { XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(x))) }
        var worst: Float = 0
        for (x, y) in zip(parameters(a), parameters(b)) { worst = max(worst, abs(x - y)) }
        XCTAssertLessThan(worst, 1e-4, "parameters after 3 steps differ by \(worst)")
    }

    /// Gradient accumulation reproduces the larger batch: 4 windows × 2 accumulated against 8 at
    /// once, without dropout and with every batch padded to max length, log the same losses and
    /// end on the same weights. With dynamic padding they differ a little, as they do in HF's
    /// Trainer: the QA loss takes its softmax over every position, padding included
    /// (modeling_bert's CrossEntropyLoss over the padded length), so a micro-batch padded to its
    /// own longest window gives another loss than the same windows padded with the larger batch.
    /// (Measured with `bertqa train` on ../shared's tiny BERT, 64 questions, max length 128: dynamic
    /// padding, step 1 4.83151 vs 4.84631; fixed padding, every step within 2.4e-7.)
    func testGradientAccumulationReproducesTheLargerBatch() throws {
        let config = BertConfig(vocabSize: 30522, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                intermediateSize: 64, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0,
                                maxPositionEmbeddings: 512)
        // A whole number of 8-window batches, so that no step is a partial accumulation (HF
        // averages a last partial one over its micro-batches too, which is not the big batch's mean).
        let windows = Array(Self.features.prefix(Self.features.count / 8 * 8))
        XCTAssertGreaterThanOrEqual(windows.count, 32)
        func run(batch: Int, accumulate: Int) throws -> (parameters: [Float], losses: [Double]) {
            var o = options()
            o.epochs = 2
            o.batchSize = batch
            o.gradientAccumulationSteps = accumulate
            o.dynamicPadding = false
            o.groupByLength = false
            o.loggingSteps = 1
            let model = try BertForQuestionAnswering(config: config, seed: 5)
            let trainer = try Trainer(model: model, train: windows, validation: [], options: o,
                                      output: try TinyModel.temporaryFolder("bertqa-accumulate"), padId: 0)
            let state = try trainer.run()
            return (parameters(model), state.logHistory.compactMap(\.loss))
        }
        let accumulated = try run(batch: 4, accumulate: 2)
        let whole = try run(batch: 8, accumulate: 1)
        XCTAssertEqual(accumulated.losses.count, windows.count / 8 * 2)
        XCTAssertEqual(accumulated.losses.count, whole.losses.count)
        for (step, (a, b)) in zip(accumulated.losses, whole.losses).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "step \(step + 1)")
        }
        // The weights: the two runs sum the same gradients in another order, so an element whose
        // gradient is cancellation noise can take AdamW's ±lr step either way (as in the parity
        // tests); every element stays within the learning rates summed over the run, and nearly
        // all agree to 1e-5.
        let differences = zip(accumulated.parameters, whole.parameters).map { abs($0 - $1) }
        let steps = accumulated.losses.count
        let summedLR = (0 ..< steps).reduce(0.0) { $0 + 1e-3 * Double(steps - $1) / Double(steps) }
        XCTAssertLessThanOrEqual(Double(differences.max() ?? 0), summedLR)
        let close = differences.filter { $0 <= 1e-5 }.count
        XCTAssertGreaterThan(Double(close) / Double(differences.count), 0.99,
                             "\(differences.count - close) of \(differences.count) parameters differ by more than 1e-5")
    }

    func testBadOptionsAndUnwritableOutput() throws {
        var o = options()
        o.batchSize = 0
        XCTAssertThrowsError(try Trainer(model: try freshModel(), train: Self.features, validation: [], options: o,
                                         output: try TinyModel.temporaryFolder("bertqa-bad"), padId: 0))
        XCTAssertThrowsError(try Trainer(model: try freshModel(), train: [], validation: [], options: options(),
                                         output: try TinyModel.temporaryFolder("bertqa-bad"), padId: 0))
        XCTAssertThrowsError(try Trainer(model: try freshModel(), train: Self.features, validation: [], options: options(),
                                         output: URL(fileURLWithPath: "/proc/bertqa-cannot-write"), padId: 0)) { error in
            XCTAssertTrue("\(error)".contains("/proc/bertqa-cannot-write"), "\(error)")
        }
    }

    func testScheduleMatchesHF() {
        let s = LinearSchedule(baseLR: 1e-3, warmupSteps: 2, totalSteps: 6)
        XCTAssertEqual((0..<6).map { s.learningRate(at: $0) }, [0, 0.0005, 0.001, 0.00075, 0.0005, 0.00025])
        let seed = LinearSchedule(baseLR: 3e-5, warmupSteps: 0, totalSteps: 768)
        XCTAssertEqual(seed.learningRate(at: 49), 2.80859375e-05, accuracy: 1e-15)   // HF's log at step 50
    }

    /// HF's `max_steps` (Tests/Fixtures/trainer/max-steps.json, from HF's Trainer by
    /// scripts/fixtures/make_trainer_max_steps.py): 10 windows in batches of 4 are 3 steps per
    /// epoch; max_steps 7 runs three epochs, the last one step long, with the schedule (and its
    /// warmup ratio) over 7 steps and an evaluation at the end; max_steps 3 is exactly one epoch;
    /// without it the 3 epochs decide. Every logged step, epoch and learning rate, and where the
    /// evaluations fall, as the Trainer's log_history has them.
    func testMaxStepsPlansAsHFTrainer() throws {
        let url = Golden.repositoryRoot.appendingPathComponent("Tests/Fixtures/trainer/max-steps.json")
        let fixture = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let runs = try XCTUnwrap(fixture["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 3)
        for run in runs {
            let maxSteps = try XCTUnwrap(run["max_steps"] as? Int)
            var o = options()
            o.epochs = 3
            o.batchSize = 4
            o.learningRate = 1e-3
            o.warmupRatio = 0.3
            o.loggingSteps = 1
            o.maxSteps = maxSteps > 0 ? maxSteps : nil
            let trainer = try Trainer(model: try freshModel(), train: Array(Self.features.prefix(10)),
                                      validation: Array(Self.features.prefix(4)), options: o,
                                      output: try TinyModel.temporaryFolder("bertqa-max-steps"), padId: 0)
            let state = try trainer.run()
            let label = "max_steps \(maxSteps)"
            XCTAssertEqual(state.step, run["global_step"] as? Int, label)
            let expected = try XCTUnwrap(run["log"] as? [[String: Any]])
            XCTAssertEqual(state.logHistory.count, expected.count, "\(label): \(state.logHistory)")
            for (ours, theirs) in zip(state.logHistory, expected) {
                let step = try XCTUnwrap(theirs["step"] as? Int)
                XCTAssertEqual(ours.step, step, label)
                XCTAssertEqual(ours.epoch, try XCTUnwrap(theirs["epoch"] as? Double), accuracy: 1e-9, "\(label) step \(step)")
                if theirs["kind"] as? String == "eval" {
                    XCTAssertNotNil(ours.evalLoss, "\(label): an evaluation at step \(step)")
                } else {
                    XCTAssertNotNil(ours.loss, "\(label): a training log at step \(step)")
                    let lr = try XCTUnwrap(theirs["learning_rate"] as? Double)
                    XCTAssertEqual(try XCTUnwrap(ours.learningRate), lr, accuracy: 1e-12 + 1e-9 * lr, "\(label) step \(step)")
                }
            }
        }
    }
}
