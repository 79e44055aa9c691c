import Kernels

/// Embedding activations; B·T rows of E (the embedding size), then C.
public struct EmbeddingActivations {
    /// word + type + position, the LayerNorm's input (B,T,E)
    public let sum: UnsafeMutablePointer<Float>
    /// LayerNorm output (after dropout in training) (B,T,E)
    public let output: UnsafeMutablePointer<Float>
    public let mean: UnsafeMutablePointer<Float>   // (B,T)
    public let rstd: UnsafeMutablePointer<Float>   // (B,T)
    /// Layer 0's input (B,T,C): `output`, or its projection E→C (ELECTRA, ALBERT).
    public let hidden: UnsafeMutablePointer<Float>
}

/// One encoder layer's activations: what its forward writes and its backward reads.
public struct LayerActivations {
    public let qkv: UnsafeMutablePointer<Float>          // (B,T,3C) rows [q | k | v]
    /// (B,NH,T,T) softmax probabilities when saved for backward; per-worker scratch otherwise
    public let attention: UnsafeMutablePointer<Float>
    public let context: UnsafeMutablePointer<Float>      // (B,T,C) heads merged
    public let attentionResidual: UnsafeMutablePointer<Float> // (B,T,C) dense(context) + input: LayerNorm 1's input
    public let attentionOutput: UnsafeMutablePointer<Float>   // (B,T,C) LayerNorm 1 output
    public let attentionMean: UnsafeMutablePointer<Float>     // (B,T)
    public let attentionRstd: UnsafeMutablePointer<Float>     // (B,T)
    public let intermediatePre: UnsafeMutablePointer<Float>   // (B,T,I) before the activation (= intermediate in inference)
    public let intermediate: UnsafeMutablePointer<Float>      // (B,T,I) after it
    public let outputResidual: UnsafeMutablePointer<Float>    // (B,T,C) dense(intermediate) + attentionOutput
    public let output: UnsafeMutablePointer<Float>            // (B,T,C) LayerNorm 2 output = next layer's input
    public let outputMean: UnsafeMutablePointer<Float>        // (B,T)
    public let outputRstd: UnsafeMutablePointer<Float>        // (B,T)
}

/// DeBERTa's relative-position activations: the position index for the current T, the
/// (normalized) relative embeddings, and each layer's key and query projections of them.
public struct RelativeActivations {
    /// (T,T) at the current T: r(i,j), see `relativePositionIndex`
    public let index: UnsafeMutablePointer<Int32>
    /// (2S,C) LayerNorm(rel_embeddings) (or a copy without norm_rel_ebd), its mean and rstd (2S)
    public let normalized: UnsafeMutablePointer<Float>
    public let mean: UnsafeMutablePointer<Float>
    public let rstd: UnsafeMutablePointer<Float>
    /// (2S,C) one layer's input to its projections after the position dropout (training)
    public let dropped: UnsafeMutablePointer<Float>
    /// (2S,C) per layer (one shared slot in inference): the c2p keys and p2c queries
    public let keys: [UnsafeMutablePointer<Float>]
    public let queries: [UnsafeMutablePointer<Float>]
    /// `relativeAttentionScratchCount`
    public let scratch: UnsafeMutablePointer<Float>
}

/// QA head activations.
public struct HeadActivations {
    /// (B,T,C) the encoder's output after DistilBERT's qa_dropout, in a training forward with
    /// it (nil otherwise: qa_outputs reads the encoder's output)
    public let droppedInput: UnsafeMutablePointer<Float>?
    public let logits: UnsafeMutablePointer<Float>       // (B,T,2) as qa_outputs writes them
    public let startLogits: UnsafeMutablePointer<Float>  // (B,T)
    public let endLogits: UnsafeMutablePointer<Float>    // (B,T)
    public let startProbs: UnsafeMutablePointer<Float>   // (B,T) softmax, for the loss backward
    public let endProbs: UnsafeMutablePointer<Float>     // (B,T)
}

/// Every buffer one forward pass needs, planned once for a maximum (batch, sequence) shape and
/// reused: a forward allocates nothing. Any smaller shape fits (tensors are packed at the
/// current shape inside the maximum-shape slots), which is what dynamic padding needs.
///
/// With `saveForBackward`, each layer gets its own slots, kept for the backward pass;
/// without it (inference), all layers share one set and attention keeps only per-worker
/// T×T scratch.
public final class BertWorkspace {
    public let config: BertConfig
    public let maxBatch: Int
    public let maxSequence: Int
    public let saveForBackward: Bool
    /// The shape of the last forward pass.
    public internal(set) var batch = 0
    public internal(set) var sequence = 0

    public let embeddings: EmbeddingActivations
    /// One entry per layer (all pointing at the same slots when not saving for backward).
    public let layers: [LayerActivations]
    public let head: HeadActivations
    /// DeBERTa's relative positions (nil for the other architectures).
    public let relative: RelativeActivations?
    /// Inputs copied in by the forward (B,T), and HF's additive key mask (B,T).
    public let inputIDs: UnsafeMutablePointer<Int32>
    public let tokenTypeIDs: UnsafeMutablePointer<Int32>
    /// Position ids (B,T) where they are not 0..<T (RoBERTa's count from padding_idx + 1).
    public let positionIDs: UnsafeMutablePointer<Int32>
    public let additiveMask: UnsafeMutablePointer<Float>
    /// Clamped loss targets (B) each.
    public let startTargets: UnsafeMutablePointer<Int32>
    public let endTargets: UnsafeMutablePointer<Int32>

    /// Per-operation timing (bench --profile); nil by default.
    public var profile: OperationProfile?
    /// Gradient-of-activation scratch for the backward pass (nil unless `saveForBackward`).
    public let backward: BackwardBuffers?
    /// The dropout of the last forward (nil: eval mode, or every probability 0).
    public internal(set) var dropout: DropoutPlan?
    /// Rows the last `qaLoss` counted (not ignored) for start and end; nil until a loss is
    /// computed on the current forward, which the backward needs.
    public internal(set) var lossCounts: (start: Int, end: Int)?

    private let floats: FloatBuffer
    private let ints: UnsafeMutablePointer<Int32>

    /// Floats the activations take, for memory planning and reports.
    public var floatCount: Int { floats.count }

    public init(config: BertConfig, maxBatch: Int, maxSequence: Int, saveForBackward: Bool = false) throws {
        guard maxBatch > 0, maxSequence > 0 else {
            throw BertError.invalidInput("workspace shape must be positive, got batch \(maxBatch) × sequence \(maxSequence)")
        }
        guard maxSequence <= config.maxSequenceLength else {
            throw BertError.invalidInput("sequence length \(maxSequence) exceeds the \(config.maxSequenceLength) positions of max_position_embeddings")
        }
        self.config = config
        self.maxBatch = maxBatch
        self.maxSequence = maxSequence
        self.saveForBackward = saveForBackward
        let BT = maxBatch * maxSequence, C = config.hiddenSize, I = config.intermediateSize
        let E = config.embeddingSize, NH = config.numAttentionHeads, T = maxSequence
        let attentionCount = saveForBackward ? maxBatch * NH * T * T : Parallel.workers * T * T
        // Inference applies the activation in place: no separate pre-activation buffer.
        let preActivationCount = saveForBackward ? BT * I : 0
        let perLayer = BT * 3 * C + attentionCount + 5 * BT * C + BT * I + preActivationCount + 4 * BT
        let slots = saveForBackward ? config.numHiddenLayers : 1
        let projected = config.projectsEmbeddings ? BT * C : 0
        let headDropout = saveForBackward && config.qaDropoutProb > 0 ? BT * C : 0
        let R = config.relativeAttention.map { 2 * $0.span } ?? 0
        let relativeCount = R == 0 ? 0
            : R * C + 2 * R + R * C + 2 * slots * R * C + relativeAttentionScratchCount(seq: T, rows: R)
        let total = 2 * BT * E + 2 * BT + projected + slots * perLayer + headDropout + BT * 2 + 4 * BT + BT + relativeCount
        floats = FloatBuffer(count: total)

        var cursor = floats.pointer
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += n }
            return cursor
        }
        let embeddingSum = take(BT * E), embeddingOutput = take(BT * E), mean = take(BT), rstd = take(BT)
        embeddings = EmbeddingActivations(sum: embeddingSum, output: embeddingOutput, mean: mean, rstd: rstd,
                                          hidden: projected > 0 ? take(projected) : embeddingOutput)
        var slotList: [LayerActivations] = []
        for _ in 0..<slots {
            let qkv = take(BT * 3 * C), attention = take(attentionCount), context = take(BT * C)
            let intermediate = take(BT * I), intermediatePre = saveForBackward ? take(preActivationCount) : intermediate
            slotList.append(LayerActivations(
                qkv: qkv, attention: attention, context: context,
                attentionResidual: take(BT * C), attentionOutput: take(BT * C),
                attentionMean: take(BT), attentionRstd: take(BT),
                intermediatePre: intermediatePre, intermediate: intermediate,
                outputResidual: take(BT * C), output: take(BT * C), outputMean: take(BT), outputRstd: take(BT)))
        }
        layers = (0..<config.numHiddenLayers).map { slotList[saveForBackward ? $0 : 0] }
        head = HeadActivations(droppedInput: headDropout > 0 ? take(headDropout) : nil, logits: take(BT * 2), startLogits: take(BT), endLogits: take(BT),
                               startProbs: take(BT), endProbs: take(BT))
        additiveMask = take(BT)
        if R > 0 {
            let normalized = take(R * C), mean = take(R), rstd = take(R), dropped = take(R * C)
            let keySlots = (0..<slots).map { _ in take(R * C) }, querySlots = (0..<slots).map { _ in take(R * C) }
            relative = RelativeActivations(
                index: UnsafeMutablePointer<Int32>.allocate(capacity: T * T), normalized: normalized, mean: mean, rstd: rstd,
                dropped: dropped, keys: (0..<config.numHiddenLayers).map { keySlots[saveForBackward ? $0 : 0] },
                queries: (0..<config.numHiddenLayers).map { querySlots[saveForBackward ? $0 : 0] },
                scratch: take(relativeAttentionScratchCount(seq: T, rows: R)))
        } else {
            relative = nil
        }
        backward = saveForBackward ? BackwardBuffers(config: config, maxBatch: maxBatch, maxSequence: maxSequence) : nil
        ints = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * BT + 2 * maxBatch)
        ints.initialize(repeating: 0, count: 3 * BT + 2 * maxBatch)
        inputIDs = ints
        tokenTypeIDs = ints + BT
        positionIDs = ints + 2 * BT
        startTargets = ints + 3 * BT
        endTargets = ints + 3 * BT + maxBatch
    }

    /// Run the live products of the encoder's layers (the trainable model's four linear layers
    /// per block, forward and backward) in bfloat16 with fp32 accumulation: `bertqa train
    /// --bf16`, PyTorch's bf16 autocast for those layers. Master weights, gradients, attention,
    /// LayerNorm, softmax, the loss and every reduction stay fp32; each forward rounds the
    /// layers' weights once into `bf16Training.weights`. Needs a CPU with bf16 products
    /// (`BF16Products.available`): a forward refuses otherwise. Inference snapshots ignore it.
    public var bf16Products = false

    /// bf16 training's buffers, made at the first forward with `bf16Products`: the rounded
    /// weights (at the parameters' offsets; only the encoder's linear weights are written, so
    /// only their pages are touched) and the products' rounded inputs and output gradients.
    struct BF16Training {
        let weights: UnsafeMutablePointer<UInt16>
        let input: UnsafeMutablePointer<UInt16>
        let gradient: UnsafeMutablePointer<UInt16>

        func operands(_ weight: ParameterTensor) -> BF16Operands {
            BF16Operands(weight: weights + weight.offset, input: input, gradient: gradient)
        }
    }
    private var bf16Training: BF16Training?

    /// The bf16 buffers the live products use now: nil unless `bf16Products` (and a forward has
    /// made them).
    var liveBF16: BF16Training? { bf16Products ? bf16Training : nil }

    /// `bf16Training`, made on first use for a model of `parameterCount` floats.
    func bf16TrainingBuffers(parameterCount: Int) -> BF16Training {
        if let made = bf16Training { return made }
        let BT = maxBatch * maxSequence
        let widest = max(3 * config.hiddenSize, config.intermediateSize)
        let made = BF16Training(weights: .allocate(capacity: parameterCount),
                                input: .allocate(capacity: BT * widest), gradient: .allocate(capacity: BT * widest))
        bf16Training = made
        return made
    }

    /// Packed-inference scratch: oneDNN's scratchpad (with the memory objects and stream it
    /// caches) for every precision; for bf16 the products' rounded input (B,T,C) and the
    /// intermediate layer's bf16 output (B,T,I); for int8 the products' quantized input and its
    /// row scales (up to (B,T,I), the output dense's input). At the maximum shape, each made on
    /// the first forward that needs it, then reused; a workspace may serve several precisions
    /// in turn.
    private var scratchpad: PackedScratchpad?
    private var bf16Storage: UnsafeMutablePointer<UInt16>?
    private var int8Staging: UnsafeMutableRawPointer?
    private var int8AttentionStorage: UnsafeMutableRawPointer?

    /// `attentionForwardInt8`'s scratch at the maximum shape, made on first use.
    func int8AttentionScratch() -> UnsafeMutableRawPointer {
        if let made = int8AttentionStorage { return made }
        let bytes = attentionInt8ScratchBytes(seq: maxSequence, headSize: config.hiddenSize / config.numAttentionHeads)
        let made = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        made.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        int8AttentionStorage = made
        return made
    }

    typealias PackedBuffers = (input: UnsafeMutableRawPointer?, intermediate: UnsafeMutablePointer<UInt16>?,
                               scratchpad: PackedScratchpad)

    /// The scratch for a forward in `precision` (no staging for fp32).
    func packedScratch(_ precision: InferencePrecision) -> PackedBuffers {
        let pad = scratchpad ?? PackedScratchpad()
        scratchpad = pad
        let BT = maxBatch * maxSequence, C = config.hiddenSize
        switch precision {
        case .fp32:
            return (nil, nil, pad)
        case .bf16:
            let storage = bf16Storage ?? {
                let made = UnsafeMutablePointer<UInt16>.allocate(capacity: BT * (C + config.intermediateSize))
                made.initialize(repeating: 0, count: BT * (C + config.intermediateSize))
                return made
            }()
            bf16Storage = storage
            return (UnsafeMutableRawPointer(storage), storage + BT * C, pad)
        case .int8:
            let staging = int8Staging ?? {
                let bytes = PackedLinear.stagingBytes(precision: .int8, rows: BT, inFeatures: max(C, config.intermediateSize))
                let made = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                made.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                return made
            }()
            int8Staging = staging
            return (staging, nil, pad)
        }
    }

    deinit {
        ints.deallocate()
        relative?.index.deallocate()
        bf16Storage?.deallocate()
        int8Staging?.deallocate()
        int8AttentionStorage?.deallocate()
        if let t = bf16Training {
            t.weights.deallocate()
            t.input.deallocate()
            t.gradient.deallocate()
        }
    }

    /// Start logits (B,T) of the last forward.
    public var startLogits: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: head.startLogits, count: batch * sequence)
    }

    /// End logits (B,T) of the last forward.
    public var endLogits: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: head.endLogits, count: batch * sequence)
    }

    /// The encoder's output (B,T,C) of the last forward.
    public var sequenceOutput: UnsafeBufferPointer<Float> {
        let last = layers.last?.output ?? embeddings.hidden
        return UnsafeBufferPointer(start: last, count: batch * sequence * config.hiddenSize)
    }
}
