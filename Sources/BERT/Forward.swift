import Kernels

// The forward pass, module by module. Each step writes into workspace slots that the
// backward pass will read (see LayerActivations); nothing is allocated here.
// Eval mode has no dropout; training mode applies it where marked "dropout:".

extension BertForQuestionAnswering {
    /// Runs the model on `batch` (eval mode, on its weights as they are: sgemm);
    /// start/end logits land in `workspace.startLogits`/`endLogits`. To answer questions, take
    /// a `BertInferenceModel` of it (packed weights, shareable between threads).
    public func forward(_ batch: BertBatch, workspace ws: BertWorkspace) throws {
        try architecture.forward(batch, config: config, parameters: parameters.pointer, workspace: ws, packed: nil)
    }

    /// Training-mode forward: dropout with the config's probabilities (hidden_dropout_prob after
    /// the embeddings' LayerNorm and on the attention-output and FFN-output denses,
    /// attention_probs_dropout_prob on the attention probabilities), as inverted dropout (kept
    /// values × 1/(1-p)). Masks come from a counter-based generator keyed by `dropoutSeed`,
    /// layer, site and element, so `backward` regenerates them and the same seed gives a
    /// bit-identical step. The workspace must have been made with `saveForBackward: true`.
    public func forward(_ batch: BertBatch, workspace ws: BertWorkspace, dropoutSeed: UInt64) throws {
        guard ws.saveForBackward else {
            throw BertError.invalidInput("a training forward needs a workspace made with saveForBackward: true")
        }
        try architecture.forward(batch, config: config, parameters: parameters.pointer, workspace: ws, packed: nil,
                                 dropoutSeed: dropoutSeed)
    }

    /// Convenience: one forward with a fresh workspace, logits returned as arrays.
    public func predict(_ batch: BertBatch) throws -> (startLogits: [Float], endLogits: [Float]) {
        try BertWorkspace.logits(config: config, batch: batch, forward)
    }

    /// HF's QA loss on the last forward's logits: positions clamped to [0, T], T ignored,
    /// cross-entropy of start and of end each averaged over non-ignored rows, then averaged.
    /// (NaN when every row is ignored, as PyTorch's mean over nothing.) Saves the softmax
    /// probabilities and clamped targets for the backward pass.
    public func qaLoss(startPositions: [Int], endPositions: [Int], workspace ws: BertWorkspace) throws -> Float {
        let B = ws.batch, T = ws.sequence
        guard startPositions.count == B, endPositions.count == B else {
            throw BertError.invalidInput("need \(B) start and end positions, got \(startPositions.count) and \(endPositions.count)")
        }
        for b in 0..<B {
            ws.startTargets[b] = Int32(min(max(startPositions[b], 0), T))
            ws.endTargets[b] = Int32(min(max(endPositions[b], 0), T))
        }
        let s = crossEntropyForward(probs: ws.head.startProbs, logits: ws.head.startLogits, targets: ws.startTargets,
                                    batch: B, classes: T, ignoreIndex: T)
        let e = crossEntropyForward(probs: ws.head.endProbs, logits: ws.head.endLogits, targets: ws.endTargets,
                                    batch: B, classes: T, ignoreIndex: T)
        ws.lossCounts = (s.count, e.count)
        return Float((s.sum / Double(s.count) + e.sum / Double(e.count)) / 2)
    }
}

extension BertWorkspace {
    /// `forward` (the trainable model's or a snapshot's) on a fresh workspace sized for `batch`,
    /// its logits as arrays: what both `predict`s do.
    static func logits(config: BertConfig, batch: BertBatch,
                       _ forward: (BertBatch, BertWorkspace) throws -> Void) throws -> (startLogits: [Float], endLogits: [Float]) {
        let ws = try BertWorkspace(config: config, maxBatch: batch.batchSize, maxSequence: batch.sequenceLength)
        try forward(batch, ws)
        return (Array(ws.startLogits), Array(ws.endLogits))
    }
}

extension BertArchitecture {
    /// The forward pass over the weights at `p`: the trainable model's (packed: nil, sgemm) or
    /// an inference snapshot's (its packed layers, in eval mode). `dropoutSeed`: training mode.
    func forward(_ batch: BertBatch, config: BertConfig, parameters p: UnsafeMutablePointer<Float>,
                 workspace ws: BertWorkspace, packed: [PackedBertLayer]?, dropoutSeed: UInt64? = nil) throws {
        try prepare(batch, config: config, workspace: ws)
        if let dropoutSeed { ws.dropout = DropoutPlan(seed: dropoutSeed, config: config) }
        timed(ws.profile, .embeddings) {
            embeddings.forward(p, ws)
        }
        // Packed products only in inference: a training forward reads the live parameters and
        // keeps what its backward reads.
        let packed = ws.saveForBackward || ws.dropout != nil ? nil : packed
        if packed == nil && ws.bf16Products { try roundLinearWeights(p, ws) }
        if let relative = encoder.relative, packed?.first?.relativePositions == nil {
            timed(ws.profile, .embeddings) { relative.forward(p, ws) }
        }
        for (l, layer) in encoder.layers.enumerated() {
            let input = l == 0 ? ws.embeddings.hidden : ws.layers[l - 1].output
            try layer.forward(p, input: input, ws.layers[l], ws, index: l, packed: packed?[l], relative: encoder.relative)
        }
        timed(ws.profile, .head) {
            headForward(p, config: config, ws)
        }
    }

    /// bf16 products (`BertWorkspace.bf16Products`): every encoder layer's four linear weights
    /// rounded into the workspace's bf16 copy, once per forward (the optimizer changes them
    /// between steps; the backward reads the same copy). ALBERT's shared layer is rounded once.
    private func roundLinearWeights(_ p: UnsafeMutablePointer<Float>, _ ws: BertWorkspace) throws {
        if let why = BF16Products.unavailable { throw BertError.invalidInput("bf16 training \(why): train in fp32") }
        let end = encoder.layers.map(\.parameterRange.upperBound).max() ?? 0
        let copy = ws.bf16TrainingBuffers(parameterCount: end)
        var rounded = Set<Int>()
        for layer in encoder.layers where rounded.insert(layer.parameterRange.lowerBound).inserted {
            for weight in layer.linearWeights {
                convertToBF16(out: copy.weights + weight.offset, inp: p + weight.offset, count: weight.count)
            }
        }
    }

    /// Validates inputs against the config and copies them into the workspace.
    private func prepare(_ batch: BertBatch, config: BertConfig, workspace ws: BertWorkspace) throws {
        let B = batch.batchSize, T = batch.sequenceLength
        guard ws.config == config else {
            throw BertError.invalidInput("the workspace was planned for a different config")
        }
        guard B <= ws.maxBatch, T <= ws.maxSequence else {
            throw BertError.invalidInput("batch \(B) × \(T) exceeds the workspace's \(ws.maxBatch) × \(ws.maxSequence)")
        }
        guard T <= config.maxSequenceLength else {
            throw BertError.invalidInput("sequence length \(T) exceeds the \(config.maxSequenceLength) positions of max_position_embeddings")
        }
        // HF's extended mask: (1 - mask) · finfo(float32).min, added to every score.
        let minValue = -Float.greatestFiniteMagnitude
        let hasTypes = config.usesTokenTypes  // DistilBERT and DeBERTa-v3 take none: any given are ignored
        for i in 0..<(B * T) {
            let id = batch.inputIDs[i], type = hasTypes ? batch.tokenTypeIDs[i] : 0
            guard id >= 0, Int(id) < config.vocabSize else {
                throw BertError.invalidInput("input_ids[\(i / T)][\(i % T)] = \(id) is outside the vocabulary (\(config.vocabSize))")
            }
            guard !hasTypes || (type >= 0 && Int(type) < config.typeVocabSize) else {
                throw BertError.invalidInput("token_type_ids[\(i / T)][\(i % T)] = \(type) is outside 0..<\(config.typeVocabSize)")
            }
            ws.inputIDs[i] = id
            ws.tokenTypeIDs[i] = type
            ws.additiveMask[i] = (1 - Float(batch.attentionMask[i])) * minValue
        }
        // RoBERTa's create_position_ids_from_input_ids: from the ids, not the attention mask.
        if config.modelType.positionsFollowPadding {
            let pad = Int32(config.padTokenID)
            for b in 0..<B {
                var count: Int32 = 0
                for t in 0..<T {
                    let i = b * T + t
                    if ws.inputIDs[i] != pad { count += 1; ws.positionIDs[i] = pad + count } else { ws.positionIDs[i] = pad }
                }
            }
        }
        if let relative = ws.relative, let settings = config.relativeAttention {
            relativePositionIndex(relative.index, seq: T, buckets: settings.positionBuckets,
                                  maxPosition: settings.maxRelativePositions, span: settings.span)
        }
        ws.batch = B
        ws.sequence = T
        ws.dropout = nil
        ws.lossCounts = nil
    }

    /// dropout: (DistilBERT's qa_dropout), qa_outputs, then HF's split of the (B,T,2) logits
    /// into start (B,T) and end (B,T).
    private func headForward(_ p: UnsafeMutablePointer<Float>, config: BertConfig, _ ws: BertWorkspace) {
        let BT = ws.batch * ws.sequence, C = config.hiddenSize
        var input = encoder.layers.isEmpty ? ws.embeddings.hidden : ws.layers[encoder.layers.count - 1].output
        if let plan = ws.dropout, plan.head.isActive, let dropped = ws.head.droppedInput {
            dropped.update(from: input, count: BT * C)
            dropoutForward(dropped, count: BT * C, mask: plan.head)
            input = dropped
        }
        matmulForward(out: ws.head.logits, inp: input, weight: qaOutputs.weight.pointer(in: p),
                      bias: qaOutputs.bias.pointer(in: p), rows: BT, inFeatures: C, outFeatures: 2)
        for i in 0..<BT {
            ws.head.startLogits[i] = ws.head.logits[2 * i]
            ws.head.endLogits[i] = ws.head.logits[2 * i + 1]
        }
    }
}

extension BertEmbeddings {
    func forward(_ p: UnsafeMutablePointer<Float>, _ ws: BertWorkspace) {
        let B = ws.batch, T = ws.sequence, E = wordEmbeddings.shape[1]
        embeddingForward(out: ws.embeddings.sum, ids: ws.inputIDs, types: ws.tokenTypeIDs,
                         positions: positionPaddingIndex == nil ? nil : ws.positionIDs,
                         wordTable: wordEmbeddings.pointer(in: p), positionTable: positionEmbeddings?.pointer(in: p),
                         typeTable: tokenTypeEmbeddings?.pointer(in: p), batch: B, seq: T, channels: E)
        layerNormForward(out: ws.embeddings.output, mean: ws.embeddings.mean, rstd: ws.embeddings.rstd,
                         inp: ws.embeddings.sum, weight: layerNorm.weight.pointer(in: p), bias: layerNorm.bias.pointer(in: p),
                         rows: B * T, channels: E, eps: layerNorm.eps)
        // DeBERTa: embeddings · mask, padding rows 0
        if zeroesPadding { zeroPaddingRows(ws.embeddings.output, ws) }
        // dropout: on the output, in place (the LayerNorm backward reads only its input)
        if let plan = ws.dropout {
            dropoutForward(ws.embeddings.output, count: B * T * E, mask: plan.embeddings)
        }
        // ELECTRA's embeddings_project / ALBERT's embedding_hidden_mapping_in: E → C.
        if let projection {
            matmulForward(out: ws.embeddings.hidden, inp: ws.embeddings.output, weight: projection.weight.pointer(in: p),
                          bias: projection.bias.pointer(in: p), rows: B * T, inFeatures: E,
                          outFeatures: projection.outFeatures)
        }
    }
}

extension BertEmbeddings {
    /// DeBERTa's `embeddings * mask` (B,T,E) in place, and its backward alike: padding rows 0.
    func zeroPaddingRows(_ x: UnsafeMutablePointer<Float>, _ ws: BertWorkspace) {
        let E = wordEmbeddings.shape[1]
        for bt in 0..<(ws.batch * ws.sequence) where ws.additiveMask[bt] != 0 {
            (x + bt * E).update(repeating: 0, count: E)
        }
    }
}

extension BertLayer {
    /// input is (B,T,C): the embeddings' or the previous layer's output. The four products run
    /// on the live weights or on a snapshot's packed ones (`LayerProducts`); the kernels
    /// between them are the same either way.
    ///
    /// Where the biases go: a training forward keeps each product's output with its bias for
    /// the backward; otherwise q|k|v's bias is added as attention reads q, k and v, and the two
    /// dense outputs' biases in the LayerNorm pass after them (dropout would have to come
    /// between, so only without dropout).
    func forward(_ p: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>,
                 _ a: LayerActivations, _ ws: BertWorkspace, index: Int, packed: PackedBertLayer? = nil,
                 relative: RelativeEmbeddings? = nil) throws {
        let B = ws.batch, T = ws.sequence, BT = B * T
        let sa = attention.selfAttention, so = attention.output
        let C = sa.query.inFeatures, I = intermediate.dense.outFeatures
        let products = LayerProducts(self, parameters: p, packed: packed, workspace: ws)
        let qkvBias = sa.qkv.bias.pointer(in: p), qkvBiasInAttention = !ws.saveForBackward && relative == nil
        let soBias = so.dense.bias.pointer(in: p), outBias = output.dense.bias.pointer(in: p)
        let biasInLayerNorm = ws.dropout == nil

        // BertSelfAttention: the fused q|k|v projection, then softmax(q·kᵀ/√d + mask)·v per head.
        try timed(ws.profile, .qkvDense, flops: productFlops(BT, 3 * C, C)) {
            // Packed products leave the bias out: the relative attention reads q|k|v with it.
            let biasAfter = relative != nil && !ws.saveForBackward
            try products.qkv(out: a.qkv, input: input, rows: BT, bias: qkvBiasInAttention || biasAfter ? nil : qkvBias)
            if biasAfter { addRowBias(a.qkv, qkvBias, rows: BT, columns: 3 * C) }
        }
        // dropout: on the probabilities (saved undropped; the backward regenerates the mask)
        if let relative, let r = ws.relative {
            // An inference snapshot projected its positions once; otherwise project them now.
            let positions = packed?.relativePositions.map { self.positions(relative, index: r.index, keys: $0.keys, queries: $0.queries) }
                ?? relativePositions(p, relative, r, ws, index: index)
            let R = relative.rows
            timed(ws.profile, .attention, flops: 2 * productFlops(BT, T, C) + 2 * productFlops(BT, R, C)) {
                relativeAttentionForward(ctx: a.context, att: a.attention, qkv: a.qkv, mask: ws.additiveMask,
                                         positions: positions, scratch: r.scratch, batch: B, seq: T, channels: C,
                                         heads: sa.heads, saveProbabilities: ws.saveForBackward,
                                         dropout: ws.dropout?.attentionProbabilities(index),
                                         dropped: ws.backward?.droppedProbabilities)
            }
        } else { timed(ws.profile, .attention, flops: 2 * productFlops(BT, T, C)) {
            if let packed, packed.int8Attention, qkvBiasInAttention {
                attentionForwardInt8(ctx: a.context, qkv: a.qkv, qkvBias: qkvBias, mask: ws.additiveMask,
                                     batch: B, seq: T, channels: C, heads: sa.heads, scratch: ws.int8AttentionScratch())
            } else {
                attentionForward(ctx: a.context, att: a.attention, qkv: a.qkv, mask: ws.additiveMask,
                                 batch: B, seq: T, channels: C, heads: sa.heads, saveProbabilities: ws.saveForBackward,
                                 dropout: ws.dropout?.attentionProbabilities(index),
                                 dropped: ws.backward?.droppedProbabilities, qkvBias: qkvBiasInAttention ? qkvBias : nil)
            }
        } }
        // BertSelfOutput: dense, dropout:, LayerNorm(dense + input).
        try timed(ws.profile, .attentionOutputDense, flops: productFlops(BT, C, C)) {
            try products.attentionOutput(out: a.attentionResidual, input: a.context, rows: BT,
                                         bias: biasInLayerNorm ? nil : soBias)
        }
        if let plan = ws.dropout, plan.attentionOutput(index).isActive {
            timed(ws.profile, .dropout) { dropoutForward(a.attentionResidual, count: BT * C, mask: plan.attentionOutput(index)) }
        }
        timed(ws.profile, .residualLayerNorm) {
            residualLayerNormForward(out: a.attentionOutput, mean: a.attentionMean, rstd: a.attentionRstd,
                                     x: a.attentionResidual, residual: input, denseBias: biasInLayerNorm ? soBias : nil,
                                     weight: so.layerNorm.weight.pointer(in: p), bias: so.layerNorm.bias.pointer(in: p),
                                     rows: BT, channels: C, eps: so.layerNorm.eps)
        }
        // BertIntermediate: act(dense).
        let activations = try timed(ws.profile, .intermediateDense, flops: productFlops(BT, I, C)) {
            try products.intermediate(pre: a.intermediatePre, out: a.intermediate, input: a.attentionOutput, rows: BT)
        }
        // BertOutput: dense, dropout:, LayerNorm(dense + attention output).
        try timed(ws.profile, .outputDense, flops: productFlops(BT, C, I)) {
            try products.output(out: a.outputResidual, input: activations, rows: BT, bias: biasInLayerNorm ? nil : outBias)
        }
        if let plan = ws.dropout, plan.feedForwardOutput(index).isActive {
            timed(ws.profile, .dropout) { dropoutForward(a.outputResidual, count: BT * C, mask: plan.feedForwardOutput(index)) }
        }
        timed(ws.profile, .residualLayerNorm) {
            residualLayerNormForward(out: a.output, mean: a.outputMean, rstd: a.outputRstd,
                                     x: a.outputResidual, residual: a.attentionOutput, denseBias: biasInLayerNorm ? outBias : nil,
                                     weight: output.layerNorm.weight.pointer(in: p), bias: output.layerNorm.bias.pointer(in: p),
                                     rows: BT, channels: C, eps: output.layerNorm.eps)
        }
    }
}

extension RelativeEmbeddings {
    /// LayerNorm(rel_embeddings) (or a copy), once per forward for every layer.
    func forward(_ p: UnsafeMutablePointer<Float>, _ ws: BertWorkspace) {
        guard let r = ws.relative else { return }
        normalize(p, out: r.normalized, mean: r.mean, rstd: r.rstd)
    }

    /// (2S,C) LayerNorm(rel_embeddings) into `out` (its mean and rstd, 2S each, kept for the
    /// backward), or a copy without norm_rel_ebd.
    func normalize(_ p: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                   rstd: UnsafeMutablePointer<Float>) {
        let C = embeddings.shape[1]
        if let layerNorm {
            layerNormForward(out: out, mean: mean, rstd: rstd, inp: embeddings.pointer(in: p),
                             weight: layerNorm.weight.pointer(in: p), bias: layerNorm.bias.pointer(in: p),
                             rows: rows, channels: C, eps: layerNorm.eps)
        } else {
            out.update(from: embeddings.pointer(in: p), count: rows * C)
        }
    }
}

extension BertLayer {
    /// DeBERTa's position side of layer `index`: pos_dropout on the normalized relative
    /// embeddings (training), then this layer's key (c2p) and query (p2c) projections of them
    /// — the same weights as its content keys and queries (share_att_key).
    func relativePositions(_ p: UnsafeMutablePointer<Float>, _ relative: RelativeEmbeddings, _ r: RelativeActivations,
                           _ ws: BertWorkspace, index: Int) -> RelativeAttentionPositions {
        let input = relativeInput(r, rows: relative.rows, ws, index: index)
        projectPositions(p, input, relative, keys: r.keys[index], queries: r.queries[index])
        return savedPositions(relative, r, index: index)
    }

    /// (2S,C) → this layer's c2p keys and p2c queries of the relative embeddings `input`
    /// (each only where the config's pos_att_type asks for it).
    func projectPositions(_ p: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ relative: RelativeEmbeddings,
                          keys: UnsafeMutablePointer<Float>, queries: UnsafeMutablePointer<Float>) {
        let sa = attention.selfAttention, C = sa.query.inFeatures, R = relative.rows
        if relative.settings.contentToPosition {
            matmulForward(out: keys, inp: input, weight: sa.key.weight.pointer(in: p),
                          bias: sa.key.bias.pointer(in: p), rows: R, inFeatures: C, outFeatures: C)
        }
        if relative.settings.positionToContent {
            matmulForward(out: queries, inp: input, weight: sa.query.weight.pointer(in: p),
                          bias: sa.query.bias.pointer(in: p), rows: R, inFeatures: C, outFeatures: C)
        }
    }

    /// The positions `relativePositions` computed for layer `index`, as they lie in the
    /// workspace (a training workspace keeps each layer's for the backward).
    func savedPositions(_ relative: RelativeEmbeddings, _ r: RelativeActivations, index: Int) -> RelativeAttentionPositions {
        positions(relative, index: r.index, keys: r.keys[index], queries: r.queries[index])
    }

    /// The relative attention's position side from projections lying at `keys` / `queries`.
    func positions(_ relative: RelativeEmbeddings, index: UnsafePointer<Int32>, keys: UnsafePointer<Float>,
                   queries: UnsafePointer<Float>) -> RelativeAttentionPositions {
        let settings = relative.settings
        return RelativeAttentionPositions(
            index: index, keys: settings.contentToPosition ? keys : nil,
            queries: settings.positionToContent ? queries : nil, rows: relative.rows,
            scale: 1 / (Float(attention.selfAttention.headSize) * Float(settings.scaleFactor)).squareRoot())
    }

    /// The relative embeddings layer `index` projects: the normalized ones, or their copy after
    /// this layer's pos_dropout (the backward regenerates the same copy).
    func relativeInput(_ r: RelativeActivations, rows: Int, _ ws: BertWorkspace, index: Int) -> UnsafeMutablePointer<Float> {
        guard let mask = ws.dropout?.relativeEmbeddings(index), mask.isActive else { return r.normalized }
        let count = rows * attention.selfAttention.query.inFeatures
        r.dropped.update(from: r.normalized, count: count)
        dropoutForward(r.dropped, count: count, mask: mask)
        return r.dropped
    }
}
