import Kernels

/// Scratch the backward pass (and the training forward's attention dropout) works in, planned
/// once with the workspace so a training step allocates nothing. Gradients of activations
/// flow through a few reused (B,T,·) slots rather than one per activation:
/// `residual` carries dLoss/d(layer output) down the stack, the others hold one layer's
/// intermediate gradients at a time (see Backward.swift for who writes what).
public final class BackwardBuffers {
    /// (B,T,C): the residual stream's gradient; each layer's backward turns dOutput into dInput here.
    public let residual: UnsafeMutablePointer<Float>
    /// (B,T,C) each: gradients inside a layer.
    public let hidden: UnsafeMutablePointer<Float>
    public let branch: UnsafeMutablePointer<Float>
    /// (B,T,I): gradient of the feed-forward activation (then of its input, in place).
    public let intermediate: UnsafeMutablePointer<Float>
    /// (B,T,3C): gradient of the fused q|k|v projection.
    public let qkv: UnsafeMutablePointer<Float>
    /// (B,T,2): gradient of the QA head's logits, interleaved as the head writes them.
    public let logits: UnsafeMutablePointer<Float>
    /// Per-worker partial sums of LayerNorm parameter gradients.
    public let layerNormScratch: UnsafeMutablePointer<Float>
    /// Per-worker T×T matrices for the attention backward.
    public let attentionScratch: UnsafeMutablePointer<Float>
    /// Per-worker T×T: attention probabilities after dropout, in the training forward.
    public let droppedProbabilities: UnsafeMutablePointer<Float>

    /// DeBERTa: the relative embeddings' gradients (nil for the other architectures).
    public let relative: RelativeBackwardBuffers?

    private let floats: FloatBuffer

    /// Floats the buffers take, for memory planning and reports.
    public var floatCount: Int { floats.count }

    init(config: BertConfig, maxBatch: Int, maxSequence: Int) {
        let BT = maxBatch * maxSequence, I = config.intermediateSize, T = maxSequence
        // The embeddings' gradients (width E) pass through these slots too.
        let C = max(config.hiddenSize, config.embeddingSize)
        let lnCount = layerNormBackwardScratchCount(channels: C)
        let attentionCount = attentionBackwardScratchCount(seq: T)
        let droppedCount = Parallel.workers * T * T
        floats = FloatBuffer(count: 3 * BT * C + BT * I + 3 * BT * C + 2 * BT + lnCount + attentionCount + droppedCount)
        var cursor = floats.pointer
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += n }
            return cursor
        }
        residual = take(BT * C)
        hidden = take(BT * C)
        branch = take(BT * C)
        intermediate = take(BT * I)
        qkv = take(3 * BT * C)
        logits = take(2 * BT)
        layerNormScratch = take(lnCount)
        attentionScratch = take(attentionCount)
        droppedProbabilities = take(droppedCount)
        relative = config.relativeAttention.map {
            RelativeBackwardBuffers(rows: 2 * $0.span, channels: config.hiddenSize, maxSequence: maxSequence)
        }
    }
}

/// The backward of DeBERTa's relative attention: gradients of one layer's position keys and
/// queries and of its dropped relative embeddings, the sum over layers for the normalized
/// embeddings, and the attention backward's scratch.
public final class RelativeBackwardBuffers {
    public let keys: UnsafeMutablePointer<Float>        // (2S,C)
    public let queries: UnsafeMutablePointer<Float>     // (2S,C)
    public let dropped: UnsafeMutablePointer<Float>     // (2S,C)
    public let normalized: UnsafeMutablePointer<Float>  // (2S,C), summed over layers
    public let embeddings: UnsafeMutablePointer<Float>  // (2S,C), LayerNorm's input gradient
    public let scratch: UnsafeMutablePointer<Float>
    private let floats: FloatBuffer

    init(rows R: Int, channels C: Int, maxSequence T: Int) {
        let scratchCount = relativeAttentionBackwardScratchCount(seq: T, rows: R, channels: C)
        floats = FloatBuffer(count: 5 * R * C + scratchCount)
        let p = floats.pointer
        keys = p; queries = p + R * C; dropped = p + 2 * R * C; normalized = p + 3 * R * C; embeddings = p + 4 * R * C
        scratch = p + 5 * R * C
    }
}

/// Where training-mode dropout applies in a step, and its masks. Each site draws from its own
/// stream of the counter-based generator (`DropoutMask`), keyed by the step's seed, so the
/// backward regenerates exactly the forward's masks.
public struct DropoutPlan: Sendable, Equatable {
    public let seed: UInt64
    /// hidden_dropout_prob and attention_probs_dropout_prob.
    public let hidden: Float
    public let attention: Float
    /// Where the architecture has no dropout, 0: after DistilBERT's attention output, after
    /// ALBERT's feed-forward output. And DistilBERT's qa_dropout.
    let attentionOutputProbability: Float
    let feedForwardProbability: Float
    let headProbability: Float

    /// nil when every probability is 0 (dropout is then a no-op).
    init?(seed: UInt64, config: BertConfig) {
        self.seed = seed
        hidden = Float(config.hiddenDropoutProb)
        attention = Float(config.attentionProbsDropoutProb)
        attentionOutputProbability = config.modelType == .distilbert ? 0 : hidden
        feedForwardProbability = config.modelType == .albert ? 0 : hidden
        headProbability = Float(config.qaDropoutProb)
        if hidden == 0 && attention == 0 && headProbability == 0 { return nil }
    }

    /// After the embeddings' LayerNorm.
    var embeddings: DropoutMask { DropoutMask(seed: seed, stream: 0, probability: hidden) }
    /// On layer l's attention probabilities.
    func attentionProbabilities(_ layer: Int) -> DropoutMask {
        DropoutMask(seed: seed, stream: UInt64(3 * layer + 1), probability: attention)
    }
    /// On layer l's attention output dense, before its residual LayerNorm.
    func attentionOutput(_ layer: Int) -> DropoutMask {
        DropoutMask(seed: seed, stream: UInt64(3 * layer + 2), probability: attentionOutputProbability)
    }
    /// On layer l's FFN output dense, before its residual LayerNorm.
    func feedForwardOutput(_ layer: Int) -> DropoutMask {
        DropoutMask(seed: seed, stream: UInt64(3 * layer + 3), probability: feedForwardProbability)
    }
    /// DeBERTa's pos_dropout on the relative embeddings, in layer l's attention.
    func relativeEmbeddings(_ layer: Int) -> DropoutMask {
        DropoutMask(seed: seed, stream: (1 << 41) + UInt64(layer), probability: hidden)
    }
    /// On the encoder's output before qa_outputs (DistilBERT).
    var head: DropoutMask { DropoutMask(seed: seed, stream: 1 << 40, probability: headProbability) }
}
