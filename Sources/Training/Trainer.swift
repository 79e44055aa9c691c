import BERT
import Dispatch
import Distributed
import Foundation
import Inference  // BertBatch(FeatureBatch)
import Kernels
import SQuAD

/// Fine-tunes a `BertForQuestionAnswering` on training windows, as HF's Trainer does:
/// shuffled (optionally length-grouped) batches each epoch, training-mode forward with dropout,
/// HF's QA loss, backward, gradient clipping, AdamW with a linear schedule; validation loss at
/// each epoch end; logs, a loss curve, atomic checkpoints and exact resumption.
///
/// Everything random is a pure function of `options.seed` and step counters, so the same seed
/// gives a bit-identical run, and a resumed run continues it bit for bit.
///
/// Data-parallel over MPI ranks (`communicator`): every rank holds the whole model and plans
/// the same global batches (`globalBatchSize` windows); each trains on its share of each
/// batch, its loss weighted by that share, the gradients are summed over the ranks in buckets
/// while the backward pass goes on, and every rank takes the same AdamW step, so the weights
/// stay identical and the run equals one process on the global batch (up to the order of
/// the sums). Rank 0 alone logs, validates and writes; the others wait for it.
public final class Trainer {
    public let model: BertForQuestionAnswering
    public let options: TrainingOptions
    public let output: URL
    public let padId: Int32
    /// Tokenizer files copied into each checkpoint so that it is a complete model folder.
    public var tokenizerFiles: [URL] = []
    /// Called after each epoch's validation loss (e.g. to compute EM/F1): (epoch, step).
    public var onEpochEnd: ((Int, Int) throws -> Void)?
    /// Stop after this many optimizer steps (for tests and benchmarks); nil runs to the end.
    public var stopAfterSteps: Int?
    /// Windows trained on by the job, all ranks together (not counting steps before a resume).
    public private(set) var sequencesTrained = 0
    /// Token positions those windows filled, padding included (batch × padded length, summed):
    /// the work the model did, for comparing padding policies (`train_padded_tokens`).
    public private(set) var paddedTokensTrained = 0
    /// The job's ranks; nil: this process alone.
    public let communicator: Communicator?
    /// Windows per batch over all ranks: per rank × ranks, or a resumed checkpoint's.
    public let globalBatchSize: Int
    /// Compare the ranks' weights every N steps (a checksum; 0: never): a debugging aid.
    public var replicaCheckSteps = 0
    /// The gradients' sum over the ranks (nil on one process).
    public let reduction: GradientReduction?
    var worldSize: Int { communicator?.size ?? 1 }
    var rank: Int { communicator?.rank ?? 0 }
    /// Whether this process logs, validates and writes: rank 0, or the only process.
    public var isLeader: Bool { rank == 0 }

    let train: [TrainingFeature]
    let validation: [TrainingFeature]
    let log: TrainingLog
    /// Whether step lines and the progress bar go to stderr (the log file is written anyway).
    public var showSteps: Bool {
        get { log.echo }
        set { log.echo = newValue }
    }
    let optimizer: AdamW
    let gradients: FloatBuffer
    let workspace: BertWorkspace

    public init(model: BertForQuestionAnswering, train: [TrainingFeature], validation: [TrainingFeature],
                options: TrainingOptions, output: URL, padId: Int32,
                communicator: Communicator? = nil, globalBatchSize: Int? = nil, gradientBucketFloats: Int = 1 << 21) throws {
        try options.validate()
        let world = communicator?.size ?? 1
        let global = globalBatchSize ?? options.batchSize * world
        guard global >= 1 else { throw TrainingError.invalidOption("the global batch must hold at least 1 window") }
        guard !train.isEmpty else { throw TrainingError.invalidOption("there are no training windows") }
        if let longest = (train + validation).map(\.inputIds.count).max(), longest > options.maxLength {
            throw TrainingError.invalidOption("a window of \(longest) tokens is longer than max length \(options.maxLength)")
        }
        self.model = model
        self.train = train
        self.validation = validation
        self.options = options
        self.output = output
        self.padId = padId
        self.communicator = communicator
        self.globalBatchSize = global
        let leader = (communicator?.rank ?? 0) == 0
        if leader {
            do {
                try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            } catch {
                throw TrainingError.io(path: output.path, reason: "cannot create the output folder (\(error.localizedDescription))")
            }
            guard FileManager.default.isWritableFile(atPath: output.path) else {
                throw TrainingError.io(path: output.path, reason: "the output folder is not writable")
            }
        }
        log = try TrainingLog(output: output)
        log.writesFiles = leader
        log.echo = leader
        optimizer = AdamW(layout: model.layout, weightDecay: Float(options.weightDecay))
        gradients = FloatBuffer(count: model.layout.totalCount)
        // A rank's share of a global batch is at most ⌈global / ranks⌉; validation batches
        // (rank 0) hold the per-device batch.
        let share = (global + world - 1) / world
        workspace = try BertWorkspace(config: model.config, maxBatch: max(share, options.batchSize),
                                      maxSequence: options.maxLength, saveForBackward: true)
        workspace.bf16Products = options.bf16
        if let communicator, world > 1 {
            reduction = GradientReduction(communicator: communicator, buffer: gradients.pointer, count: gradients.count,
                                          boundaries: model.gradientBlockEdges, bucketFloats: gradientBucketFloats)
        } else {
            reduction = nil
        }
    }

    /// This rank's share of a global batch: a contiguous slice, the ranks' slices as even as
    /// they can be (the last, partial batch of an epoch may leave a rank none).
    func share(of batch: [Int]) -> ArraySlice<Int> {
        let base = batch.count / worldSize, extra = batch.count % worldSize
        let start = rank * base + min(rank, extra)
        return batch[start ..< start + base + (rank < extra ? 1 : 0)]
    }

    /// Batches per epoch and optimizer steps in all.
    public var batchesPerEpoch: Int { (train.count + globalBatchSize - 1) / globalBatchSize }
    public var stepsPerEpoch: Int { (batchesPerEpoch + options.gradientAccumulationSteps - 1) / options.gradientAccumulationSteps }
    /// Optimizer steps in all: `maxSteps` when set (HF's `max_steps` overrides the epochs), else
    /// every epoch's.
    public var totalSteps: Int { options.maxSteps ?? stepsPerEpoch * options.epochs }
    /// Epochs begun: with `maxSteps`, as many as its steps need, as HF's Trainer counts them.
    public var plannedEpochs: Int {
        options.maxSteps.map { ($0 + stepsPerEpoch - 1) / stepsPerEpoch } ?? options.epochs
    }

    /// The global batches of `epoch`, in order: a function of (seed, epoch, global batch) only,
    /// the same on every rank.
    func batches(epoch: Int) -> [[Int]] {
        let seed = options.seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15
        let size = globalBatchSize
        if options.groupByLength {
            return Batching.lengthGrouped(lengths: train.map(\.inputIds.count), batchSize: size, seed: seed)
        }
        var order = Array(train.indices)
        var rng = SplitMix64(seed: seed)
        order.shuffle(using: &rng)
        return stride(from: 0, to: order.count, by: size).map { Array(order[$0 ..< min($0 + size, order.count)]) }
    }

    /// Runs (or resumes from `resume`, a checkpoint folder) to the end; returns the final state.
    @discardableResult
    public func run(resume: URL? = nil) throws -> TrainerState {
        let schedule = options.warmupSteps > 0
            ? LinearSchedule(baseLR: options.learningRate, warmupSteps: options.warmupSteps, totalSteps: totalSteps)
            : LinearSchedule(baseLR: options.learningRate, warmupRatio: options.warmupRatio, totalSteps: totalSteps)
        var state = TrainerState(step: 0, epoch: 0, batchInEpoch: 0, seed: options.seed, totalSteps: totalSteps,
                                 options: options, logHistory: [])
        if let resume {
            state = try Checkpoints.restore(resume, model: model, optimizer: optimizer)
            guard state.seed == options.seed, state.totalSteps == totalSteps else {
                throw TrainingError.checkpoint(path: resume.path, reason: "it was made with another seed or schedule (seed \(state.seed), \(state.totalSteps) steps); resume with the same options")
            }
            guard state.globalBatch == globalBatchSize else {
                throw TrainingError.checkpoint(path: resume.path, reason: "it was made with a global batch of \(state.globalBatch) windows, not \(globalBatchSize)")
            }
            log.restore(state.logHistory)
            log.line("resumed from \(resume.path) at step \(state.step)/\(totalSteps)")
            if state.options.bf16 != options.bf16 {
                // Not refused: a run may move to a CPU with or without bf16 units. Said, as the
                // steps from here are not the ones the interrupted run would have made; later
                // checkpoints record the arithmetic the run now uses.
                log.line("the checkpoint's steps ran \(state.options.bf16 ? "with" : "without") --bf16, the steps from here \(options.bf16 ? "with" : "without") it: not the run an uninterrupted one would have made")
                state.options.bf16 = options.bf16
            }
        }
        state.globalBatchSize = globalBatchSize
        state.worldSize = worldSize
        if let communicator, worldSize > 1 {
            // Every rank read the weights itself: they must be the same bits before step one.
            do { try checkReplicas(communicator, step: state.step) } catch DistributedError.replicasDiverged(let step) {
                throw DistributedError.replicasStartApart(step: step)
            }
        }
        var lastCheckpoint: String? = resume?.path
        let started = DispatchTime.now().uptimeNanoseconds
        let stepsAtStart = state.step
        var windowLoss: Double = 0, windowSteps = 0, windowSequences = 0
        var windowStart = DispatchTime.now().uptimeNanoseconds

        epochs: while state.epoch < plannedEpochs && state.step < totalSteps {
            let plan = batches(epoch: state.epoch)
            while state.batchInEpoch < plan.count {
                // One optimizer step over up to `gradientAccumulationSteps` batches.
                let micro = Array(plan[state.batchInEpoch ..< min(state.batchInEpoch + options.gradientAccumulationSteps, plan.count)])
                gradients.zero()
                var stepLoss: Double = 0
                var stepPaddedTokens = 0
                for (k, batch) in micro.enumerated() {
                    // This rank's windows, and their share of the batch's mean loss (1 alone).
                    let mine = share(of: batch)
                    let weight = Float(mine.count) / Float(batch.count)
                    let last = k == micro.count - 1
                    if last { reduction?.begin() }
                    if !mine.isEmpty {
                        let ready: ((Range<Int>) throws -> Void)? = last ? reduction.map { r in { try r.ready($0) } } : nil
                        let (loss, padded) = try trainBatch(Array(mine), dropoutSeed: dropoutSeed(step: state.step, micro: k),
                                                            lossScale: weight, gradientsReady: ready)
                        stepLoss += Double(loss) * Double(weight) / Double(micro.count)
                        stepPaddedTokens += padded
                    }
                    windowSequences += batch.count
                    sequencesTrained += batch.count
                }
                if let reduction, let communicator {
                    try reduction.finish()
                    let sums = try communicator.sum([stepLoss, Double(stepPaddedTokens)], what: "the step's loss")
                    stepLoss = sums[0]
                    stepPaddedTokens = Int(sums[1])
                }
                paddedTokensTrained += stepPaddedTokens
                guard stepLoss.isFinite else {
                    throw TrainingError.nonFiniteLoss(step: state.step + 1, loss: Float(stepLoss), lastCheckpoint: lastCheckpoint)
                }
                if micro.count > 1 { scale(gradients, by: 1 / Float(micro.count)) }
                // clip_grad_norm_, its coefficient applied as AdamW reads each gradient.
                let norm = gradientNorm(gradients, layout: model.layout)
                let lr = schedule.learningRate(at: state.step)
                optimizer.update(parameters: model.parameters, gradients: gradients, lr: lr,
                                 gradientScale: clipCoefficient(norm: norm, maxNorm: Float(options.maxGradNorm)))
                state.step += 1
                state.batchInEpoch += micro.count
                windowLoss += stepLoss
                windowSteps += 1
                let epochProgress = Double(state.epoch) + Double(state.batchInEpoch) / Double(plan.count)

                // The end of training is an epoch's end too (HF validates and saves there), also
                // when `maxSteps` stops it within an epoch.
                let finished = state.step >= totalSteps
                let stopping = finished || stopAfterSteps.map { state.step >= $0 } ?? false
                // The first step is logged (a short run is not silent), and the last one, so that a
                // final training loss always exists.
                if state.step % options.loggingSteps == 0 || state.step == 1 || stopping {
                    let now = DispatchTime.now().uptimeNanoseconds
                    let seconds = Double(now - windowStart) / 1e9
                    let elapsed = Double(now - started) / 1e9
                    let entry = LogEntry(step: state.step, epoch: epochProgress, loss: windowLoss / Double(windowSteps),
                                         learningRate: schedule.learningRate(at: state.step - 1), gradNorm: Double(norm),
                                         evalLoss: nil, sequencesPerSecond: Double(windowSequences) / seconds,
                                         elapsedSeconds: elapsed)
                    let rate = Double(state.step - stepsAtStart) / max(elapsed, 1e-9)
                    log.record(entry, totalSteps: totalSteps, eta: Double(totalSteps - state.step) / max(rate, 1e-9))
                    windowLoss = 0; windowSteps = 0; windowSequences = 0; windowStart = now
                } else {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                    let rate = Double(state.step - stepsAtStart) / max(elapsed, 1e-9)
                    log.progress(step: state.step, totalSteps: totalSteps, eta: Double(totalSteps - state.step) / max(rate, 1e-9))
                }
                let epochDone = state.batchInEpoch >= plan.count || finished
                if let communicator, replicaCheckSteps > 0, state.step % replicaCheckSteps == 0 {
                    try checkReplicas(communicator, step: state.step)
                }
                let saving = epochDone || (options.saveSteps > 0 && state.step % options.saveSteps == 0)
                if epochDone && state.batchInEpoch >= plan.count {
                    state.epoch += 1
                    state.batchInEpoch = 0
                }
                if epochDone && isLeader {
                    let evalLoss = try validationLoss()
                    if let evalLoss {
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                        log.record(LogEntry(step: state.step, epoch: epochProgress, loss: nil, learningRate: nil,
                                            gradNorm: nil, evalLoss: evalLoss, sequencesPerSecond: nil,
                                            elapsedSeconds: elapsed), totalSteps: totalSteps, eta: nil)
                    }
                    try onEpochEnd?(Int(epochProgress.rounded(.up)), state.step)
                }
                if saving && isLeader {
                    state.logHistory = log.history
                    lastCheckpoint = try Checkpoints.save(model: model, optimizer: optimizer, state: state, output: output,
                                                          keep: options.saveTotalLimit, tokenizerFiles: tokenizerFiles).path
                }
                if saving, let communicator, worldSize > 1 {
                    // The others wait, with no time limit, while rank 0 validates and writes.
                    try communicator.barrier(what: "rank 0's validation and checkpoint")
                }
                if stopping { break epochs }
                if epochDone { continue epochs }
            }
        }
        log.finish()
        state.logHistory = log.history
        return state
    }

    /// Forward with dropout, loss, backward (adds `lossScale` × the loss's gradient into
    /// `gradients`); returns the loss and the token positions the batch filled.
    private func trainBatch(_ indices: [Int], dropoutSeed: UInt64, lossScale: Float,
                            gradientsReady: ((Range<Int>) throws -> Void)?) throws -> (Float, Int) {
        let batch = try modelBatch(train, indices)
        try model.forward(batch, workspace: workspace, dropoutSeed: dropoutSeed)
        let loss = try model.qaLoss(startPositions: indices.map { train[$0].startPosition },
                                    endPositions: indices.map { train[$0].endPosition }, workspace: workspace)
        try model.backward(workspace: workspace, gradients: gradients, lossScale: lossScale, gradientsReady: gradientsReady)
        return (loss, batch.batchSize * batch.sequenceLength)
    }

    /// Every rank's weights must be bit-identical: compares a checksum of them over the ranks.
    private func checkReplicas(_ communicator: Communicator, step: Int) throws {
        let p = model.parameters.pointer
        var lanes = SIMD8<UInt32>(repeating: 0x811C_9DC5)
        var i = 0
        let n = model.parameters.count
        while i + 8 <= n {
            let bits = SIMD8<UInt32>((0..<8).map { p[i + $0].bitPattern })
            lanes = (lanes ^ bits) &* 0x0100_0193
            i += 8
        }
        while i < n { lanes[0] = (lanes[0] ^ p[i].bitPattern) &* 0x0100_0193; i += 1 }
        // Each 32-bit lane is exact in a double; max and −min over the ranks agree iff all do.
        let mine = (0..<8).map { Double(lanes[$0]) }
        let extremes = try communicator.maximum(mine + mine.map { -$0 }, what: "the weights' checksum")
        for k in 0..<8 where extremes[k] != -extremes[k + 8] {
            throw DistributedError.replicasDiverged(step: step)
        }
    }

    /// Mean validation loss (eval mode), weighted by batch size as HF's Trainer averages it.
    /// With dynamic padding the batches are grouped by length (as `evaluate` does): sequential
    /// batches mix long and short windows (the seed job's 2,023 dev windows: 414,813 tokens
    /// padded in sequential batches of 16, 301,117 grouped, for 298,797 real ones). HF's QA loss
    /// takes each softmax over every position, padding included, so a window's loss depends a
    /// little on how far its batch is padded: grouped batches give the value closest to the
    /// unpadded one (the seed job's first-epoch loss: 2.978 against 3.014 sequential).
    public func validationLoss() throws -> Double? {
        guard !validation.isEmpty else { return nil }
        let batches = options.dynamicPadding
            ? Batching.byLength(lengths: validation.map(\.inputIds.count), batchSize: options.batchSize)
            : Batching.sequential(count: validation.count, batchSize: options.batchSize)
        var total: Double = 0
        for indices in batches {
            let batch = try modelBatch(validation, indices)
            try model.forward(batch, workspace: workspace)
            let loss = try model.qaLoss(startPositions: indices.map { validation[$0].startPosition },
                                        endPositions: indices.map { validation[$0].endPosition }, workspace: workspace)
            total += Double(loss) * Double(indices.count)
        }
        return total / Double(validation.count)
    }

    private func modelBatch(_ features: [TrainingFeature], _ indices: [Int]) throws -> BertBatch {
        let padding: BatchPadding = options.dynamicPadding ? .longest : .maxLength(options.maxLength)
        return try BertBatch(try FeatureBatch.make(features, indices: indices, padding: padding, padId: padId))
    }

    /// Dropout masks of micro-batch `micro` of optimizer step `step` (on rank `rank`: each
    /// rank draws other masks for its other windows).
    func dropoutSeed(step: Int, micro: Int) -> UInt64 {
        var rng = SplitMix64(seed: options.seed ^ (UInt64(step) &* 0x2545_F491_4F6C_DD1D) ^ (UInt64(micro) << 48)
                                 ^ (UInt64(rank) &* 0xD1B5_4A32_D192_ED03))
        return rng.next()
    }

    private func scale(_ buffer: FloatBuffer, by factor: Float) {
        for i in 0..<buffer.count { buffer.pointer[i] *= factor }
    }
}
