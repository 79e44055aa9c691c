import BERT
import Foundation
import Kernels
import Support

/// Where a run stands, saved with each checkpoint; with the seed it fixes everything that
/// follows (data order per epoch and dropout masks are pure functions of seed and counters).
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps done.
    public var step: Int
    /// Epoch in progress and batches of it already consumed.
    public var epoch: Int
    public var batchInEpoch: Int
    public var seed: UInt64
    public var totalSteps: Int
    public var options: TrainingOptions
    public var logHistory: [LogEntry]
    /// Windows per batch over all ranks (per rank × ranks): it fixes the data order and the
    /// schedule, so a run resumes with it on any number of ranks. Absent in checkpoints of
    /// single-process runs made before ranks existed: the per-device batch then.
    public var globalBatchSize: Int? = nil
    /// Ranks that made the checkpoint (for people; a resumed run may use another number).
    public var worldSize: Int? = nil

    /// The global batch the run was made with, also for checkpoints that predate ranks.
    public var globalBatch: Int { globalBatchSize ?? options.batchSize }

    enum CodingKeys: String, CodingKey {
        case step, epoch, seed, options
        case batchInEpoch = "batch_in_epoch"
        case totalSteps = "total_steps"
        case logHistory = "log_history"
        case globalBatchSize = "global_batch_size"
        case worldSize = "world_size"
    }
}

/// One logged point (HF `log_history` style).
public struct LogEntry: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Double
    public var loss: Double?
    public var learningRate: Double?
    public var gradNorm: Double?
    public var evalLoss: Double?
    public var sequencesPerSecond: Double?
    public var elapsedSeconds: Double

    /// HF's `log_history` names where HF has the value.
    enum CodingKeys: String, CodingKey {
        case step, epoch, loss
        case learningRate = "learning_rate"
        case gradNorm = "grad_norm"
        case evalLoss = "eval_loss"
        case sequencesPerSecond = "sequences_per_second"
        case elapsedSeconds = "elapsed_seconds"
    }
}

/// Checkpoints under `<output>/checkpoints/checkpoint-<step>/`: the model in Hugging Face
/// format, `optimizer.safetensors` (AdamW moments) and `trainer_state.json`. Each is written
/// into a `.partial` folder first and renamed when complete, so a crash at any moment leaves
/// the previous checkpoint as the latest complete one.
public enum Checkpoints {
    public static let stateFile = "trainer_state.json"
    public static let optimizerFile = "optimizer.safetensors"

    public static func folder(_ output: URL) -> URL { output.appendingPathComponent("checkpoints") }

    /// Writes a checkpoint atomically and prunes old ones; returns its folder.
    @discardableResult
    public static func save(model: BertForQuestionAnswering, optimizer: AdamW, state: TrainerState,
                            output: URL, keep: Int, tokenizerFiles: [URL]) throws -> URL {
        let root = folder(output)
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.io(path: root.path, reason: "cannot create the checkpoint folder (\(error.localizedDescription))")
        }
        let final = root.appendingPathComponent("checkpoint-\(state.step)")
        let partial = root.appendingPathComponent("checkpoint-\(state.step).partial-\(getpid())")
        try? fm.removeItem(at: partial)
        do {
            try fm.createDirectory(at: partial, withIntermediateDirectories: true)
            try model.save(to: partial, auxiliaryFiles: tokenizerFiles)
            try SafetensorsWriter.write([
                SafetensorsWriter.Tensor(name: "adamw.exp_avg", shape: [optimizer.m.count],
                                         floats: UnsafeBufferPointer(optimizer.m.buffer)),
                SafetensorsWriter.Tensor(name: "adamw.exp_avg_sq", shape: [optimizer.v.count],
                                         floats: UnsafeBufferPointer(optimizer.v.buffer)),
            ], metadata: ["format": "bertqa", "step": String(optimizer.step)],
               to: partial.appendingPathComponent(optimizerFile))
            // As transformers writes its trainer_state.json.
            let text = try JSONValueEncoder.pythonText(state, indent: 2, sortKeys: true) + "\n"
            try AtomicFile.write(Data(text.utf8), to: partial.appendingPathComponent(stateFile))
        } catch let error as TrainingError {
            throw error
        } catch {
            try? fm.removeItem(at: partial)
            throw TrainingError.checkpoint(path: partial.path, reason: "\(error)")
        }
        // Replace an existing checkpoint of the same step: move it aside, rename, then delete.
        if fm.fileExists(atPath: final.path) {
            let old = root.appendingPathComponent("checkpoint-\(state.step).old-\(getpid())")
            try? fm.removeItem(at: old)
            try? fm.moveItem(at: final, to: old)
            defer { try? fm.removeItem(at: old) }
            try rename(partial, final)
        } else {
            try rename(partial, final)
        }
        syncDirectory(root)
        prune(root, keep: keep)
        return final
    }

    private static func rename(_ from: URL, _ to: URL) throws {
        if Foundation.rename(from.path, to.path) != 0 {
            throw TrainingError.checkpoint(path: to.path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    private static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Complete checkpoints (folder renamed into place, state file present), oldest first.
    public static func complete(in output: URL) -> [(step: Int, url: URL)] {
        let root = folder(output)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var result: [(Int, URL)] = []
        for name in names where name.hasPrefix("checkpoint-") {
            guard let step = Int(name.dropFirst("checkpoint-".count)) else { continue } // skips .partial/.old
            let url = root.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(stateFile).path) {
                result.append((step, url))
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// The latest complete checkpoint, if any.
    public static func latest(in output: URL) -> URL? { complete(in: output).last?.url }

    private static func prune(_ root: URL, keep: Int) {
        let fm = FileManager.default
        let all = complete(in: root.deletingLastPathComponent())
        for (_, url) in all.dropLast(keep) { try? fm.removeItem(at: url) }
        // Leftovers of interrupted writes.
        for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where name.contains(".partial-") || name.contains(".old-") {
            try? fm.removeItem(at: root.appendingPathComponent(name))
        }
    }

    /// A checkpoint's trainer state alone.
    public static func state(of url: URL) throws -> TrainerState {
        let stateURL = url.appendingPathComponent(stateFile)
        do {
            return try JSONValueDecoder.decode(TrainerState.self, from: JSONValue.load(contentsOf: stateURL))
        } catch {
            throw TrainingError.checkpoint(path: stateURL.path, reason: "unreadable trainer state (\(error))")
        }
    }

    /// Reads a checkpoint's state and restores model parameters and optimizer moments.
    public static func restore(_ url: URL, model: BertForQuestionAnswering, optimizer: AdamW) throws -> TrainerState {
        let state = try Checkpoints.state(of: url)
        do {
            let weights = try SafetensorsFile(contentsOf: url.appendingPathComponent(BertForQuestionAnswering.weightsFileName))
            let (loaded, _) = try model.loadTensors(from: weights)
            if loaded.count != model.layout.tensors.count {
                throw TrainingError.checkpoint(path: url.path, reason: "the model weights are incomplete (\(loaded.count) of \(model.layout.tensors.count) tensors)")
            }
            let moments = try SafetensorsFile(contentsOf: url.appendingPathComponent(optimizerFile))
            try moments.copyFloats("adamw.exp_avg", into: optimizer.m.buffer)
            try moments.copyFloats("adamw.exp_avg_sq", into: optimizer.v.buffer)
            guard let steps = moments.metadata["step"].flatMap(Int.init) else {
                throw TrainingError.checkpoint(path: url.path, reason: "optimizer step count missing")
            }
            optimizer.step = steps
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.checkpoint(path: url.path, reason: "\(error)")
        }
        return state
    }
}
