import Foundation
import Kernels

/// Settings of a fine-tuning run, named after HF's `TrainingArguments` / `run_qa.py`.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var epochs = 3
    /// HF's `max_steps`: when set, training runs exactly this many optimizer steps, however
    /// many epochs that takes (the last one possibly partial), and the schedule runs over them.
    public var maxSteps: Int?
    public var batchSize = 16
    public var gradientAccumulationSteps = 1
    public var learningRate = 3e-5
    public var weightDecay = 0.01
    /// Warmup as a number of optimizer steps; `warmupRatio` is used when this is 0.
    public var warmupSteps = 0
    public var warmupRatio = 0.0
    public var maxGradNorm = 1.0
    public var seed: UInt64 = 42
    /// Pad each batch to its longest window (true) or to `maxLength` (the seed's choice).
    public var dynamicPadding = true
    /// Batch windows of similar length together (HF `group_by_length`).
    public var groupByLength = true
    public var maxLength = 384
    public var stride = 128
    public var loggingSteps = 50
    /// Checkpoint every N optimizer steps (0: only at epoch ends).
    public var saveSteps = 0
    /// Complete checkpoints kept (older ones are removed after a new one is written).
    public var saveTotalLimit = 2
    /// HF's `bf16`: the encoder's linear layers in bfloat16 products with fp32 accumulation,
    /// forward and backward (`BertWorkspace.bf16Products`); master weights, AdamW's state, the
    /// loss and every reduction stay fp32. Needs a CPU with avx512_bf16 or AMX.
    public var bf16 = false

    public init() {}

    /// `TrainingArguments`' names where HF has the setting.
    enum CodingKeys: String, CodingKey {
        case seed, stride
        case epochs = "num_train_epochs"
        case maxSteps = "max_steps"
        case batchSize = "per_device_train_batch_size"
        case gradientAccumulationSteps = "gradient_accumulation_steps"
        case learningRate = "learning_rate"
        case weightDecay = "weight_decay"
        case warmupSteps = "warmup_steps"
        case warmupRatio = "warmup_ratio"
        case maxGradNorm = "max_grad_norm"
        case dynamicPadding = "dynamic_padding"
        case groupByLength = "group_by_length"
        case maxLength = "max_length"
        case loggingSteps = "logging_steps"
        case saveSteps = "save_steps"
        case saveTotalLimit = "save_total_limit"
        case bf16
    }

    /// Throws `TrainingError.invalidOption` for values that cannot work.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw TrainingError.invalidOption(message) }
        }
        try check(epochs >= 1, "epochs must be at least 1, got \(epochs)")
        try check(maxSteps.map { $0 >= 1 } ?? true, "max steps must be at least 1, got \(maxSteps ?? 0)")
        try check(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        try check(gradientAccumulationSteps >= 1, "gradient accumulation steps must be at least 1")
        try check(learningRate > 0 && learningRate.isFinite, "learning rate must be positive, got \(learningRate)")
        try check(weightDecay >= 0, "weight decay must not be negative")
        try check(warmupSteps >= 0 && (0...1).contains(warmupRatio), "warmup steps ≥ 0 and warmup ratio in [0, 1]")
        try check(maxGradNorm > 0, "max grad norm must be positive")
        try check(maxLength >= 8, "max length must be at least 8, got \(maxLength)")
        try check(stride >= 0 && stride < maxLength, "stride must be in 0..<max length")
        try check(loggingSteps >= 1, "logging steps must be at least 1")
        try check(saveSteps >= 0, "save steps must not be negative")
        try check(saveTotalLimit >= 1, "save total limit must be at least 1")
        if bf16, let why = BF16Products.unavailable { throw TrainingError.invalidOption("bf16 \(why) (train in fp32: drop --bf16)") }
        // trainer_state.json stores the seed as a JSON integer, as transformers does.
        try check(seed <= UInt64(Int.max), "seed must be below 2^63, got \(seed)")
    }
}

public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidOption(String)
    case nonFiniteLoss(step: Int, loss: Float, lastCheckpoint: String?)
    case checkpoint(path: String, reason: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidOption(let m): return "invalid training option: \(m)"
        case .nonFiniteLoss(let step, let loss, let last):
            return "training stopped: the loss became \(loss) at step \(step); "
                + (last.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written yet")
                + " (try a lower learning rate)"
        case .checkpoint(let path, let reason): return "checkpoint \(path): \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
