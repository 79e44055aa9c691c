import Kernels

// The backward pass, module by module in reverse, reading what the forward saved in the
// workspace and regenerating its dropout masks. Parameter gradients are ADDED into a buffer
// of the parameters' layout (so accumulation over micro-batches is repeated calls); gradients
// of activations go through the workspace's `BackwardBuffers`, so nothing is allocated.

extension BertForQuestionAnswering {
    /// Backward from the last `qaLoss(...)` on this workspace: adds dLoss/dθ into `gradients`
    /// (same layout as `parameters`). Works after the eval forward (no dropout) or the training
    /// forward, into a workspace made with `saveForBackward: true`.
    /// `lossScale` multiplies the loss being differentiated (a rank's share of a batch split
    /// over ranks). `gradientsReady` hears of each block of `gradients` as soon as the pass has
    /// finished it (the head, then each layer at its last use), so that it may be sent on while
    /// the pass goes on; what it has not heard of is finished when the call returns.
    public func backward(workspace ws: BertWorkspace, gradients: FloatBuffer, lossScale: Float = 1,
                         gradientsReady: ((Range<Int>) throws -> Void)? = nil) throws {
        guard ws.saveForBackward, let buffers = ws.backward else {
            throw BertError.invalidInput("backward needs a workspace made with saveForBackward: true")
        }
        guard ws.config == config else {
            throw BertError.invalidInput("the workspace was planned for a different config")
        }
        guard gradients.count == layout.totalCount else {
            throw BertError.invalidInput(
                "the gradient buffer has \(gradients.count) floats; the model's parameters need \(layout.totalCount)")
        }
        guard let counts = ws.lossCounts else {
            throw BertError.invalidInput("backward needs qaLoss(...) computed on the workspace's last forward")
        }
        let p = parameters.pointer, g = gradients.pointer
        timed(ws.profile, .headBackward) {
            headBackward(p, g, ws, buffers, counts: counts, lossScale: lossScale)
        }
        try gradientsReady?(headParameterRange)
        if let relative = encoder.relative, let rb = buffers.relative {  // the layers add into it
            rb.normalized.update(repeating: 0, count: relative.rows * config.hiddenSize)
        }
        for l in encoder.layers.indices.reversed() {
            let input = l == 0 ? ws.embeddings.hidden : ws.layers[l - 1].output
            encoder.layers[l].backward(p, g, input: input, ws.layers[l], ws, buffers, index: l, relative: encoder.relative)
            // A layer shared with earlier ones (ALBERT) gets more gradient from them.
            let range = encoder.layers[l].parameterRange
            if !encoder.layers[..<l].contains(where: { $0.parameterRange == range }) { try gradientsReady?(range) }
        }
        if let relative = encoder.relative {
            timed(ws.profile, .embeddingsBackward) { relative.backward(p, g, ws, buffers) }
        }
        timed(ws.profile, .embeddingsBackward) {
            embeddings.backward(p, g, ws, buffers)
        }
    }

    /// qa_outputs' weight and bias in the flat buffer: the first block `backward` finishes.
    var headParameterRange: Range<Int> { qaOutputs.weight.offset ..< qaOutputs.bias.offset + qaOutputs.bias.count }

    /// Where `backward` finishes blocks of gradients (the head's and each layer's edges): the
    /// places a bucketed sum of the gradients may be cut.
    public var gradientBlockEdges: [Int] {
        ([headParameterRange] + encoder.layers.map(\.parameterRange)).flatMap { [$0.lowerBound, $0.upperBound] }
    }

    /// Loss = (CE(start) + CE(end)) / 2 → d(logits) (B,T,2) → qa_outputs → buffers.residual.
    private func headBackward(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                              _ ws: BertWorkspace, _ s: BackwardBuffers, counts: (start: Int, end: Int), lossScale: Float) {
        let B = ws.batch, T = ws.sequence, C = config.hiddenSize
        crossEntropyBackward(dlogits: s.logits, stride: 2, probs: ws.head.startProbs, targets: ws.startTargets,
                             batch: B, classes: T, ignoreIndex: T, count: counts.start, weight: 0.5 * lossScale)
        crossEntropyBackward(dlogits: s.logits + 1, stride: 2, probs: ws.head.endProbs, targets: ws.endTargets,
                             batch: B, classes: T, ignoreIndex: T, count: counts.end, weight: 0.5 * lossScale)
        let output = encoder.layers.isEmpty ? ws.embeddings.hidden : ws.layers[encoder.layers.count - 1].output
        let drop = ws.dropout.map(\.head).flatMap { $0.isActive ? $0 : nil }
        let input = drop == nil ? output : ws.head.droppedInput ?? output
        matmulBackward(dinp: s.residual, dweight: qaOutputs.weight.pointer(in: g), dbias: qaOutputs.bias.pointer(in: g),
                       dout: s.logits, inp: input, weight: qaOutputs.weight.pointer(in: p),
                       rows: B * T, inFeatures: C, outFeatures: 2)
        // dropout: DistilBERT's qa_dropout, through the same mask
        if let drop { dropoutBackward(dinp: s.residual, dout: s.residual, count: B * T * C, mask: drop) }
    }
}

extension BertLayer {
    /// buffers.residual holds dLoss/d(this layer's output) on entry and dLoss/d(input) on return.
    func backward(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                  input: UnsafeMutablePointer<Float>, _ a: LayerActivations, _ ws: BertWorkspace,
                  _ s: BackwardBuffers, index: Int, relative: RelativeEmbeddings? = nil) {
        let B = ws.batch, T = ws.sequence, BT = B * T
        let sa = attention.selfAttention, so = attention.output
        let C = sa.query.inFeatures, I = intermediate.dense.outFeatures
        let ffnDrop = ws.dropout?.feedForwardOutput(index)
        let attnOutDrop = ws.dropout?.attentionOutput(index)
        let hasFFNDrop = ffnDrop?.isActive ?? false, hasAttnOutDrop = attnOutDrop?.isActive ?? false
        // bf16 products: the rounded weights the forward made (`BertWorkspace.bf16Products`).
        let bf16 = ws.liveBF16

        // BertOutput's LayerNorm(dropout(dense) + h): d(sum) → hidden (the residual's share, dh so
        // far); the dense's share, through the dropout mask, → branch.
        timed(ws.profile, .layerNormBackward) {
            layerNormBackward(dinp: s.hidden, dweight: output.layerNorm.weight.pointer(in: g),
                              dbias: output.layerNorm.bias.pointer(in: g), dout: s.residual, inp: a.outputResidual,
                              weight: output.layerNorm.weight.pointer(in: p), mean: a.outputMean, rstd: a.outputRstd,
                              rows: BT, channels: C, scratch: s.layerNormScratch,
                              branch: hasFFNDrop ? s.branch : nil, branchDropout: ffnDrop)
        }
        // output.dense: d(activation) → intermediate, and on through the activation (fused).
        timed(ws.profile, .outputDenseBackward, flops: 2 * productFlops(BT, C, I)) {
            matmulBackward(dinp: s.intermediate, dweight: output.dense.weight.pointer(in: g),
                           dbias: output.dense.bias.pointer(in: g), dout: hasFFNDrop ? s.branch : s.hidden,
                           inp: a.intermediate, weight: output.dense.weight.pointer(in: p),
                           rows: BT, inFeatures: I, outFeatures: C,
                           throughActivation: (UnsafePointer(a.intermediatePre), intermediate.activation),
                           bf16: bf16?.operands(output.dense.weight))
        }
        // intermediate.dense: dh += d(pre) · W.
        timed(ws.profile, .intermediateDenseBackward, flops: 2 * productFlops(BT, I, C)) {
            matmulBackward(dinp: s.hidden, dweight: intermediate.dense.weight.pointer(in: g),
                           dbias: intermediate.dense.bias.pointer(in: g), dout: s.intermediate,
                           inp: a.attentionOutput, weight: intermediate.dense.weight.pointer(in: p),
                           rows: BT, inFeatures: C, outFeatures: I, accumulateInput: true,
                           bf16: bf16?.operands(intermediate.dense.weight))
        }
        // BertSelfOutput's LayerNorm(dropout(dense) + input): the residual's share → residual
        // (dInput so far); the dense's share → branch.
        timed(ws.profile, .layerNormBackward) {
            layerNormBackward(dinp: s.residual, dweight: so.layerNorm.weight.pointer(in: g),
                              dbias: so.layerNorm.bias.pointer(in: g), dout: s.hidden, inp: a.attentionResidual,
                              weight: so.layerNorm.weight.pointer(in: p), mean: a.attentionMean, rstd: a.attentionRstd,
                              rows: BT, channels: C, scratch: s.layerNormScratch,
                              branch: hasAttnOutDrop ? s.branch : nil, branchDropout: attnOutDrop)
        }
        // attention.output.dense: d(context) → hidden.
        timed(ws.profile, .attentionOutputDenseBackward, flops: 2 * productFlops(BT, C, C)) {
            matmulBackward(dinp: s.hidden, dweight: so.dense.weight.pointer(in: g), dbias: so.dense.bias.pointer(in: g),
                           dout: hasAttnOutDrop ? s.branch : s.residual, inp: a.context,
                           weight: so.dense.weight.pointer(in: p), rows: BT, inFeatures: C, outFeatures: C,
                           bf16: bf16?.operands(so.dense.weight))
        }
        // Attention core → d(q|k|v); then the fused projection: dInput += d(qkv) · W.
        if let relative, let r = ws.relative, let rb = s.relative {
            relativeBackward(p, g, relative, r, rb, a, ws, s, index: index)
        } else { timed(ws.profile, .attentionBackward, flops: 4 * productFlops(BT, T, C)) {
            attentionBackward(dqkv: s.qkv, dctx: s.hidden, att: a.attention, qkv: a.qkv,
                              scratch: s.attentionScratch, dropout: ws.dropout?.attentionProbabilities(index),
                              batch: B, seq: T, channels: C, heads: sa.heads)
        } }
        timed(ws.profile, .qkvDenseBackward, flops: 2 * productFlops(BT, 3 * C, C)) {
            matmulBackward(dinp: s.residual, dweight: sa.qkv.weight.pointer(in: g), dbias: sa.qkv.bias.pointer(in: g),
                           dout: s.qkv, inp: input, weight: sa.qkv.weight.pointer(in: p),
                           rows: BT, inFeatures: C, outFeatures: 3 * C, accumulateInput: true,
                           bf16: bf16?.operands(sa.qkv.weight))
        }
    }
}

extension BertLayer {
    /// DeBERTa's attention core backward → d(q|k|v) in buffers.qkv, and through the position
    /// keys and queries into this layer's query/key weights and the relative embeddings' sum.
    func relativeBackward(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                          _ relative: RelativeEmbeddings, _ r: RelativeActivations, _ rb: RelativeBackwardBuffers,
                          _ a: LayerActivations, _ ws: BertWorkspace, _ s: BackwardBuffers, index: Int) {
        let B = ws.batch, T = ws.sequence, BT = B * T, R = relative.rows
        let sa = attention.selfAttention, C = sa.query.inFeatures
        // The forward's projections, kept per layer (a backward needs a training workspace).
        let positions = savedPositions(relative, r, index: index)
        let settings = relative.settings
        timed(ws.profile, .attentionBackward, flops: 4 * productFlops(BT, T, C) + 4 * productFlops(BT, R, C)) {
            relativeAttentionBackward(dqkv: s.qkv, dKeys: settings.contentToPosition ? rb.keys : nil,
                                      dQueries: settings.positionToContent ? rb.queries : nil, dctx: s.hidden,
                                      att: a.attention, qkv: a.qkv, mask: ws.additiveMask, positions: positions,
                                      scratch: rb.scratch, dropout: ws.dropout?.attentionProbabilities(index),
                                      batch: B, seq: T, channels: C, heads: sa.heads)
        }
        // pk = input·Wkᵀ + bk, pq = input·Wqᵀ + bq: into the shared weights' gradients and d(input)
        // (the input regenerated: the dropped copy's one slot holds the last layer's).
        let input = relativeInput(r, rows: R, ws, index: index)
        var wrote = false
        for (dout, linear, used) in [(rb.keys, sa.key, settings.contentToPosition), (rb.queries, sa.query, settings.positionToContent)]
        where used {
            matmulBackward(dinp: rb.dropped, dweight: linear.weight.pointer(in: g), dbias: linear.bias.pointer(in: g),
                           dout: dout, inp: input, weight: linear.weight.pointer(in: p), rows: R, inFeatures: C,
                           outFeatures: C, accumulateInput: wrote)
            wrote = true
        }
        guard wrote else { return }
        if let mask = ws.dropout?.relativeEmbeddings(index) {
            dropoutBackward(dinp: rb.dropped, dout: rb.dropped, count: R * C, mask: mask)
        }
        addInPlace(rb.normalized, rb.dropped, count: R * C)
    }
}

extension RelativeEmbeddings {
    /// The summed gradient of the normalized relative embeddings → encoder.LayerNorm →
    /// rel_embeddings.
    func backward(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ ws: BertWorkspace,
                  _ s: BackwardBuffers) {
        guard let rb = s.relative else { return }
        let C = embeddings.shape[1]
        if let layerNorm {
            layerNormBackward(dinp: rb.embeddings, dweight: layerNorm.weight.pointer(in: g),
                              dbias: layerNorm.bias.pointer(in: g), dout: rb.normalized, inp: embeddings.pointer(in: p),
                              weight: layerNorm.weight.pointer(in: p), mean: ws.relative!.mean, rstd: ws.relative!.rstd,
                              rows: rows, channels: C, scratch: s.layerNormScratch)
            addInPlace(embeddings.pointer(in: g), rb.embeddings, count: rows * C)
        } else {
            addInPlace(embeddings.pointer(in: g), rb.normalized, count: rows * C)
        }
    }
}

extension BertEmbeddings {
    /// buffers.residual holds dLoss/d(layer 0's input) (after the projection, if any).
    func backward(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ ws: BertWorkspace,
                  _ s: BackwardBuffers) {
        let B = ws.batch, T = ws.sequence, E = wordEmbeddings.shape[1]
        // The projection E → C: d(LayerNorm output, after dropout) → hidden, then back to residual.
        if let projection {
            matmulBackward(dinp: s.hidden, dweight: projection.weight.pointer(in: g), dbias: projection.bias.pointer(in: g),
                           dout: s.residual, inp: ws.embeddings.output, weight: projection.weight.pointer(in: p),
                           rows: B * T, inFeatures: E, outFeatures: projection.outFeatures)
            s.residual.update(from: s.hidden, count: B * T * E)
        }
        if let plan = ws.dropout {
            dropoutBackward(dinp: s.residual, dout: s.residual, count: B * T * E, mask: plan.embeddings)
        }
        // DeBERTa's · mask: padding rows pass no gradient
        if zeroesPadding { zeroPaddingRows(s.residual, ws) }
        layerNormBackward(dinp: s.hidden, dweight: layerNorm.weight.pointer(in: g), dbias: layerNorm.bias.pointer(in: g),
                          dout: s.residual, inp: ws.embeddings.sum, weight: layerNorm.weight.pointer(in: p),
                          mean: ws.embeddings.mean, rstd: ws.embeddings.rstd, rows: B * T, channels: E,
                          scratch: s.layerNormScratch)
        embeddingBackward(dwordTable: wordEmbeddings.pointer(in: g),
                          dpositionTable: positionEmbeddings.flatMap { $0.trainable ? $0.pointer(in: g) : nil },
                          dtypeTable: tokenTypeEmbeddings?.pointer(in: g), dout: s.hidden,
                          ids: ws.inputIDs, types: ws.tokenTypeIDs,
                          positions: positionPaddingIndex == nil ? nil : ws.positionIDs,
                          paddingIndex: paddingIndex, positionPaddingIndex: positionPaddingIndex,
                          batch: B, seq: T, channels: E)
    }
}
