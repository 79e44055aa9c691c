import BERT
import Foundation
import Kernels
import SQuAD
import Tokenization

/// Answers questions about contexts with a BERT QA model, as Hugging Face's
/// `pipeline("question-answering")` does, but batched: all windows of all questions of a call
/// go through the model together, in chunks of similar length padded to their longest.
///
/// Thread-safe: the model's weights are read-only; each call takes a workspace from a pool.
public final class QuestionAnswerer: QuestionAnswering, @unchecked Sendable {
    public let tokenizer: any QATokenizer
    public let model: BertInferenceModel
    /// What loading the checkpoint found (`init(directory:)`): a QA head missing from it was
    /// initialized at random, and the answers mean nothing until the model is fine-tuned.
    public let loadReport: LoadReport
    /// Most windows per forward pass. Small chunks keep each layer's activations in cache:
    /// on 2 cores 4–8 windows per pass measured fastest (`bertqa bench answer`), 32 was slower
    /// than one question at a time.
    public var maxWindowsPerForward = 8
    private let pool = WorkspacePool()

    public init(tokenizer: any QATokenizer, model: BertInferenceModel, loadReport: LoadReport = LoadReport()) {
        self.tokenizer = tokenizer
        self.model = model
        self.loadReport = loadReport
    }

    /// Loads tokenizer files and a Hugging Face checkpoint from `directory`, its weights packed
    /// for inference in `precision` where that pays on this CPU (`packedWeights: false`: fp32
    /// through sgemm on the weights as they are, less memory; true: packed whatever the CPU).
    public convenience init(directory: URL, precision: InferencePrecision = .fp32, packedWeights: Bool? = nil) throws {
        let tokenizer = try Tokenizers.load(directory: directory)
        let (model, report) = try BertInferenceModel.load(from: directory, precision: precision, packedWeights: packedWeights)
        try Self.checkVocabulary(tokenizer, fits: model.config, in: directory)
        self.init(tokenizer: tokenizer, model: model, loadReport: report)
    }

    /// Token ids past the embedding table would fail on the first question; this says so at load.
    public static func checkVocabulary(_ tokenizer: any QATokenizer, fits config: BertConfig, in directory: URL) throws {
        if tokenizer.vocabularySize > config.vocabSize {
            throw InferenceError.model("the vocabulary in \(directory.path) has \(tokenizer.vocabularySize) tokens, "
                + "but config.json's vocab_size is \(config.vocabSize)")
        }
    }

    /// Answers for one question, best first (at most `options.topK`).
    public func answer(question: String, context: String, options: AnswerOptions = AnswerOptions()) throws -> [Answer] {
        try answer([AnswerJob(question: question, context: context, options: options)])[0].get()
    }

    /// Stage 1: the job's windows (a bad job fails alone, with no model work).
    public func prepare(_ job: AnswerJob) -> PreparedJob {
        do {
            return PreparedJob(job: job, windows: try windows(job))
        } catch {
            return PreparedJob(job: job, failure: error)
        }
    }

    /// Stage 2: one forward over all these windows, in length-sorted chunks.
    public func run(_ slices: [WindowSlice]) throws {
        let refs = slices.flatMap { slice in slice.windows.map { (slice.job, $0) } }
        let logits = try forward(refs.map { $0.0.windows[$0.1] })
        for ((job, w), computed) in zip(refs, logits) { job.logits[w] = computed }
    }

    /// Stage 3: spans → answers, over every window of the job.
    public func finish(_ job: PreparedJob) -> [Answer] {
        let assembler = AnswerAssembler(options: job.job.options, clsId: tokenizer.clsId)
        return assembler.answers(context: job.job.context, windows: job.windows) { w in job.logits[w] ?? ([], []) }
    }

    /// The pipeline's windows of one job: question first, `only_second` truncation.
    func windows(_ job: AnswerJob) throws -> [Encoding] {
        try job.options.validate()
        let question = tokenizer.tokenize(job.question)
        let context = tokenizer.tokenize(job.context)
        // Empty text, or only spaces and control characters, has no tokens.
        if question.count == 0 { throw InferenceError.emptyQuestion }
        if context.count == 0 { throw InferenceError.emptyContext }
        let maxLength = job.options.maxSeqLength
        if maxLength > model.config.maxSequenceLength {
            throw InferenceError.invalidOption("max_seq_len \(maxLength) is above the model's \(model.config.maxSequenceLength) positions")
        }
        let room = maxLength - 3 - question.count
        if room <= 0 && question.count + context.count + 3 > maxLength {
            throw InferenceError.invalidOption("the question has \(question.count) tokens: too long for max_seq_len \(maxLength)")
        }
        // HF's default stride is min(max_seq_len / 2, 128), lowered here when the window leaves
        // less room. A stride the user chose is kept, and must leave room for new context tokens
        // when the context needs more than one window (HF's tokenizer fails there too).
        let stride: Int
        if let chosen = job.options.docStride {
            if chosen >= room && context.count > room {
                throw InferenceError.invalidOption(
                    "doc_stride \(chosen) must be below the \(room) context tokens a window of max_seq_len \(maxLength) holds with this \(question.count)-token question")
            }
            stride = chosen
        } else {
            stride = max(0, min(maxLength / 2, 128, room - 1))
        }
        return try tokenizer.encodePair(question: question, context: context,
                                        options: WindowOptions(maxLength: maxLength, stride: stride),
                                        sampleIndex: 0)
    }

    /// Start/end logits of each window (unpadded length), computed in chunks of similar length.
    func forward(_ windows: [Encoding]) throws -> [WindowLogits] {
        var out = [WindowLogits](repeating: ([], []), count: windows.count)
        let order = windows.indices.sorted { windows[$0].count < windows[$1].count }
        var k = 0
        while k < order.count {
            let chunk = Array(order[k ..< min(k + maxWindowsPerForward, order.count)])
            k += chunk.count
            let padded = try FeatureBatch.make(windows, indices: chunk, padding: .longest, padId: tokenizer.padId)
            let (B, T) = (padded.batchSize, padded.sequenceLength)
            let batch = try BertBatch(padded)
            let workspace = try pool.take(config: model.config, batch: B, sequence: T)
            defer { pool.give(workspace) }
            try model.forward(batch, workspace: workspace)
            for (b, w) in chunk.enumerated() {
                let n = windows[w].count
                out[w] = (Array(workspace.startLogits[b * T ..< b * T + n]), Array(workspace.endLogits[b * T ..< b * T + n]))
            }
        }
        return out
    }
}

/// Reuses forward workspaces across calls (one per concurrent caller).
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [BertWorkspace] = []

    func take(config: BertConfig, batch: Int, sequence: Int) throws -> BertWorkspace {
        lock.lock()
        if let i = free.firstIndex(where: { $0.maxBatch >= batch && $0.maxSequence >= sequence }) {
            let w = free.remove(at: i)
            lock.unlock()
            return w
        }
        lock.unlock()
        return try BertWorkspace(config: config, maxBatch: batch, maxSequence: sequence)
    }

    func give(_ workspace: BertWorkspace) {
        lock.lock()
        // Keep a few, largest first, so memory stays bounded.
        free.append(workspace)
        free.sort { $0.maxBatch * $0.maxSequence > $1.maxBatch * $1.maxSequence }
        if free.count > 2 { free.removeLast(free.count - 2) }
        lock.unlock()
    }
}

/// Pipeline windows batch like SQuAD features: unpadded ids and token types of one pair.
extension Encoding: ModelFeature {
    public var exampleIndex: Int { sampleIndex }
}
